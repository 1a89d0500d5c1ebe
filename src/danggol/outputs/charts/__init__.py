"""The report's charts as inline SVG: the primitives (:mod:`.primitives`: colours, escaped
elements, scales, axes, bars, lines, heat cells, legends) apart from the charts that use them
(:mod:`.shop`: RFM grid, lifecycle, concentration, migration, cohorts, affinity;
:mod:`.predictions`: the purchase model's diagnostics)."""
