"""The generated Korean demo shop (``danggol demo``), one module per part of the generator.

* :mod:`~danggol.demo.vocabularies` — categories, names, regions, channels, activity curves and
  the purchase process's rates;
* :mod:`~danggol.demo.arrays` — small numpy/Arrow helpers;
* :mod:`~danggol.demo.clock` — activity days over real instants, and the product catalogue;
* :mod:`~danggol.demo.people` — customers; :mod:`~danggol.demo.orders` — purchases, baskets and
  money; :mod:`~danggol.demo.events` — behaviour events;
* :mod:`~danggol.demo.tables` — the arrays as the canonical Arrow tables;
* :mod:`~danggol.demo.shop` — :func:`generate_shop`, the entry point (its docstring describes the
  generative model).
"""

from __future__ import annotations

from danggol.demo.shop import generate_shop

__all__ = ["generate_shop"]
