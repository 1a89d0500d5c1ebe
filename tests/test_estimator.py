"""The estimator base (danggol/estimator.py): one get_params / set_params / repr / validation
for every model — the score estimators and the prediction models alike."""

from __future__ import annotations

import doctest

import pytest

import danggol.estimator
from danggol.errors import ConfigError
from danggol.estimator import Estimator
from danggol.predict.models import BGNBD, GammaGamma
from danggol.scores import RFM, Grades, Lifecycle


def test_the_module_examples_run():
    result = doctest.testmod(danggol.estimator)
    assert result.attempted >= 3 and result.failed == 0


def test_score_estimators_share_the_base():
    for cls in (RFM, Lifecycle, Grades):
        assert issubclass(cls, Estimator)
        for name in ("get_params", "set_params", "__repr__", "validate_params"):
            assert name not in vars(cls) or (name == "set_params" and cls is Grades), (cls, name)


@pytest.mark.parametrize(
    ("model", "text"),
    [
        (RFM(3), "RFM(bins=3, segment_map=None)"),
        (Grades(), "Grades(rules=None)"),
        (BGNBD(max_iter=50), "BGNBD(tol=None, max_iter=50, aggregate=True, penalizer_coef=0.0)"),
        (GammaGamma(), "GammaGamma(tol=None, max_iter=5000, aggregate=True, penalizer_coef=0.0)"),
    ],
)
def test_repr_shows_the_parameters(model, text):
    assert repr(model) == text


def test_lifecycle_params_in_the_table_order():
    params = Lifecycle(new_days=14).get_params()
    assert list(params)[:2] == ["new_days", "churn_days"] and params["new_days"] == 14
    assert repr(Lifecycle(new_days=14)).startswith("Lifecycle(new_days=14, churn_days=None")


def test_set_params_changes_and_refuses_unknown_names():
    rfm = RFM()
    assert rfm.set_params(bins=4) is rfm and rfm.get_params()["bins"] == 4
    with pytest.raises(
        ConfigError, match="RFM has no parameter 'n_bins'; its parameters are: bins, segment_map"
    ):
        rfm.set_params(n_bins=4)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (RFM(1), "The 'bins' parameter of RFM must be an int in the range [2, 10]"),
        (Lifecycle(new_days=0), "The 'new_days' parameter of Lifecycle must be"),
        (Grades(rules=3), "The 'rules' parameter of Grades must be a path to a YAML file"),
    ],
)
def test_validation_words_the_error_the_same_way(model, message):
    with pytest.raises(ConfigError) as info:
        model.validate_params()
    assert str(info.value).startswith(message) and str(info.value).endswith("instead.")


def test_grades_set_params_forgets_the_rules_learned_from_the_old_ones():
    grades = Grades()
    default = grades._checked()
    custom = {
        "window_months": 12,
        "grades": [
            {"key": "gold", "ko": "골드", "en": "Gold", "min_amount": 1000},
            {"key": "basic", "ko": "일반", "en": "Basic"},
        ],
    }
    grades.set_params(rules=custom)
    assert grades._checked() != default and [g.key for g in grades._checked().grades] == [
        "gold",
        "basic",
    ]


def test_every_model_shares_the_base():
    """Issue 20 item 5: the prediction models too (the BTYD models through
    predict.models.base.MaximumLikelihood), none with a get_params / set_params / repr of its own."""
    from danggol.predict.choice import Learner
    from danggol.predict.clusters import VIPClusters
    from danggol.predict.guards import CycleModel
    from danggol.predict.models import BGBB, MBGNBD, ParetoNBD
    from danggol.predict.models.base import MaximumLikelihood
    from danggol.predict.supervised import RepurchaseModel

    models = (BGNBD, MBGNBD, ParetoNBD, GammaGamma, BGBB, RepurchaseModel, VIPClusters)
    for cls in (*models, CycleModel, Learner):
        assert issubclass(cls, Estimator), cls
        for klass in cls.__mro__:
            if klass in (Estimator, object):
                break
            for name in ("get_params", "set_params", "__repr__", "validate_params"):
                assert name not in vars(klass), (cls, klass, name)
    for cls in (BGNBD, MBGNBD, ParetoNBD, GammaGamma, BGBB):
        assert issubclass(cls, MaximumLikelihood)
    assert repr(RepurchaseModel(horizon_days=30)).startswith(
        "RepurchaseModel(method='gradient_boosting', horizon_days=30,"
    )
    with pytest.raises(ConfigError, match="The 'k_range' parameter of VIPClusters must be"):
        VIPClusters(k_range=(1, 3)).validate_params()
    with pytest.raises(ConfigError, match="ParetoNBD has no parameter 'penalty'"):
        ParetoNBD().set_params(penalty=1.0)
