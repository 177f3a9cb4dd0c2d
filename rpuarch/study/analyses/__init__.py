"""One analysis per kind of study: runs in, facts, tables and plots out."""

from . import curves, regularisation, scale, sweep

ANALYSES = {
    "scale": scale.analyse,
    "curves": curves.analyse,
    "sweep": sweep.analyse,
    "regularisation": regularisation.analyse,
}
