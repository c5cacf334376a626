"""A text feature measured against the model's vocabulary: terms, OOV rate, top terms.

Pure functions, no I/O. A *term* is what the fitted vectorizer's analyzer
yields for a text: for the incident model (``TfidfVectorizer(ngram_range=(1,
2))``) the lowercased words of two or more letters and the pairs of adjacent
words; for a custom scenario's text features the words only.

    params = analyzer_params(find_vectorizer(model, "text"))  # JSON-ready settings
    analyze = build_analyzer(params)          # the same tokenisation, without the model
    terms = text_terms(texts, analyze)        # per text: its terms, None when not a text
    oov_rates(terms, vocabulary)              # per text: share of its terms not in vocabulary
    top_terms(terms, k=20)                    # most frequent terms by document frequency
    term_shares(terms, top)                   # top terms + "(other)": the PSI buckets

Definitions (also in docs/drift.md, "Text features"):

- OOV rate of a text: (terms not in the vocabulary) / (terms), counting
  repeats. A text with no terms (empty, only punctuation or one-letter
  words) has no rate: NaN, reported as missing like a missing number.
- Top terms: the ``k`` terms in most reference texts (ties by term), with
  each one's document share (share of texts with at least one term that
  contain it).
- Term shares: each text contributes its *distinct* terms; a (text, term)
  pair falls in the term's bucket when the term is a top term, else in
  ``"(other)"``. Shares are bucket counts over all pairs, so they sum to 1
  and compare like category shares (PSI, Jensen-Shannon). New words raise
  ``"(other)"``; a topic fading lowers its terms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "OTHER",
    "analyzer_params",
    "build_analyzer",
    "document_shares",
    "find_vectorizer",
    "oov_rates",
    "term_shares",
    "text_terms",
    "top_terms",
]

#: The bucket of every term that is not a top term.
OTHER = "(other)"
#: Vectorizer settings that decide its terms, stored in a profile to rebuild the analyzer.
ANALYZER_KEYS = ("analyzer", "lowercase", "ngram_range", "stop_words", "strip_accents",
                 "token_pattern")
_ANALYZERS = ("word", "char", "char_wb")
_ACCENTS = (None, "ascii", "unicode")

Analyzer = Callable[[str], list[str]]


def find_vectorizer(model: Any, column: str) -> Any | None:
    """The fitted text vectorizer applied to ``column`` inside ``model``, else ``None``.

    Walks pipelines (``steps``) and column transformers (``transformers_``);
    a vectorizer is anything with ``vocabulary_`` and ``build_analyzer``
    whose column is ``column`` or ``[column]``.
    """
    for step in _children(model, column):
        if hasattr(step, "vocabulary_") and hasattr(step, "build_analyzer"):
            return step
        found = find_vectorizer(step, column)
        if found is not None:
            return found
    return None


def _children(model: Any, column: str) -> list[Any]:
    if hasattr(model, "transformers_"):  # a fitted ColumnTransformer: only this column's
        return [t for _, t, cols in model.transformers_
                if cols == column or (isinstance(cols, list | tuple) and list(cols) == [column])]
    if hasattr(model, "steps"):
        return [step for _, step in model.steps]
    return []


def analyzer_params(vectorizer: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The settings that decide ``vectorizer``'s terms, JSON-ready, or ``None`` and why.

    A vectorizer with its own callable (analyzer, tokenizer, preprocessor,
    accent stripper) or reading files cannot be rebuilt from settings.
    """
    params = vectorizer.get_params()
    if params.get("input", "content") != "content":
        return None, f"the vectorizer reads input={params['input']!r}, not text"
    for key in ("tokenizer", "preprocessor"):
        if params.get(key) is not None:
            return None, f"the vectorizer has a custom {key}"
    if params["analyzer"] not in _ANALYZERS:
        return None, "the vectorizer has a custom analyzer"
    if params["strip_accents"] not in _ACCENTS:
        return None, "the vectorizer has a custom strip_accents"
    stop = params["stop_words"]
    if stop is not None and not isinstance(stop, str):
        stop = sorted(str(word) for word in stop)
    low, high = params["ngram_range"]
    out = {"analyzer": params["analyzer"], "lowercase": bool(params["lowercase"]),
           "ngram_range": [int(low), int(high)], "stop_words": stop,
           "strip_accents": params["strip_accents"], "token_pattern": params["token_pattern"]}
    build_analyzer(out)  # the settings must rebuild
    return out, None


def build_analyzer(params: dict[str, Any]) -> Analyzer:
    """A function from a text to its terms, as the vectorizer with ``params`` splits it.

    Raises
    ------
    ValueError
        If ``params`` is not a mapping of exactly ``ANALYZER_KEYS`` with valid values.

    Examples
    --------
    >>> analyze = build_analyzer({"analyzer": "word", "lowercase": True,
    ...     "ngram_range": [1, 2], "stop_words": None, "strip_accents": None,
    ...     "token_pattern": r"(?u)\\b\\w\\w+\\b"})
    >>> analyze("VPN is down")
    ['vpn', 'is', 'down', 'vpn is', 'is down']
    """
    import re

    from sklearn.feature_extraction.text import CountVectorizer

    if not isinstance(params, dict) or sorted(params) != sorted(ANALYZER_KEYS):
        raise ValueError(f"analyzer settings must have exactly the keys "
                         f"{', '.join(ANALYZER_KEYS)}")
    if params["analyzer"] not in _ANALYZERS:
        raise ValueError(f"analyzer must be one of {', '.join(_ANALYZERS)}, "
                         f"got {params['analyzer']!r}")
    if not isinstance(params["lowercase"], bool):
        raise ValueError("lowercase must be true or false")
    ngrams = params["ngram_range"]
    if (not isinstance(ngrams, list | tuple) or len(ngrams) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngrams)
            or not 1 <= ngrams[0] <= ngrams[1] <= 10):
        raise ValueError(f"ngram_range must be two integers 1 <= low <= high <= 10, "
                         f"got {ngrams!r}")
    stop = params["stop_words"]
    if not (stop is None or stop == "english"
            or (isinstance(stop, list) and all(isinstance(w, str) for w in stop))):
        raise ValueError("stop_words must be null, \"english\" or a list of words")
    if params["strip_accents"] not in _ACCENTS:
        raise ValueError("strip_accents must be null, \"ascii\" or \"unicode\"")
    pattern = params["token_pattern"]
    if not isinstance(pattern, str):
        raise ValueError("token_pattern must be a regular expression")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"token_pattern is not a regular expression ({exc})") from None
    vectorizer = CountVectorizer(
        analyzer=params["analyzer"], lowercase=params["lowercase"],
        ngram_range=(ngrams[0], ngrams[1]), stop_words=stop,
        strip_accents=params["strip_accents"], token_pattern=pattern,
    )
    return vectorizer.build_analyzer()


def text_terms(texts: Iterable[Any], analyze: Analyzer) -> list[list[str] | None]:
    """Each text's terms, in order with repeats; ``None`` for a value that is not text.

    Examples
    --------
    >>> text_terms(["a VPN outage", None, ""], lambda t: t.lower().split())
    [['a', 'vpn', 'outage'], None, []]
    """
    return [analyze(t) if isinstance(t, str) else None for t in texts]


def oov_rates(terms: Sequence[list[str] | None], vocabulary: set[str] | frozenset[str],
              ) -> np.ndarray:
    """Per text, the share of its terms (repeats counted) not in ``vocabulary``.

    NaN for a missing text (``None``) and for a text with no terms.

    Examples
    --------
    >>> oov_rates([["vpn", "down", "zork"], ["vpn"], [], None], {"vpn", "down"}).tolist()
    [0.3333333333333333, 0.0, nan, nan]
    """
    rates = np.full(len(terms), np.nan)
    for i, words in enumerate(terms):
        if words:
            rates[i] = sum(1 for w in words if w not in vocabulary) / len(words)
    return rates


def top_terms(terms: Sequence[list[str] | None], *, k: int = 20) -> tuple[list[str], list[float]]:
    """The ``k`` terms found in most texts, and each one's share of the texts with terms.

    Ties go to the term that sorts first, so the choice is deterministic.

    Raises
    ------
    ValueError
        If ``k`` < 1 or no text has a term.

    Examples
    --------
    >>> top_terms([["vpn", "down", "vpn"], ["vpn", "slow"], ["mail"]], k=2)
    (['vpn', 'down'], [0.6666666666666666, 0.3333333333333333])
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    documents = [set(words) for words in terms if words]
    if not documents:
        raise ValueError("no text has a term; top terms need at least one.")
    counts = Counter(term for words in documents for term in words)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [term for term, _ in ranked], [n / len(documents) for _, n in ranked]


def term_shares(terms: Sequence[list[str] | None], top: Sequence[str]) -> np.ndarray:
    """Shares of (text, distinct term) pairs in each of ``top`` and then ``"(other)"``.

    Raises
    ------
    ValueError
        If no text has a term.

    Examples
    --------
    >>> term_shares([["vpn", "down", "vpn"], ["mail"]], ["vpn"]).tolist()
    [0.3333333333333333, 0.6666666666666666]
    """
    order = {term: i for i, term in enumerate(top)}
    counts = np.zeros(len(order) + 1)
    for words in terms:
        for term in set(words or ()):
            counts[order.get(term, len(order))] += 1
    total = counts.sum()
    if total == 0:
        raise ValueError("no text has a term; term shares need at least one.")
    return counts / total


def document_shares(terms: Sequence[list[str] | None], top: Sequence[str]) -> np.ndarray:
    """For each of ``top``, the share of texts with terms that contain it.

    Raises
    ------
    ValueError
        If no text has a term.

    Examples
    --------
    >>> document_shares([["vpn", "down"], ["mail"], None], ["vpn", "mail"]).tolist()
    [0.5, 0.5]
    """
    documents = [set(words) for words in terms if words]
    if not documents:
        raise ValueError("no text has a term; document shares need at least one.")
    return np.array([sum(term in d for d in documents) for term in top]) / len(documents)
