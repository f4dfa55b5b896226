"""The local intent classifier, trained at publish time from the bot's intent examples.

Word and character n-gram TF-IDF (characters make it forgiving of typos and inflections) into
a logistic regression. The confidence is its probability, damped when most of the message's
words appear in no example (see `_coverage`). Below the threshold, or when the
text matches nothing the bot knows, `classify` answers `(None, confidence)`: out of scope.

    blob = train(snapshot.intents)          # bytes, stored on BotVersion.nlu_model
    clf = load(blob, threshold=0.45)
    clf.classify("where is my parcel")      # ("track_order", 0.81)

The model is pickled; the bytes carry an HMAC under SECRET_KEY so `load` only unpickles what
this installation trained (a tampered database row cannot run code).
"""

from __future__ import annotations

import hashlib
import hmac
import pickle  # noqa: S403 - signed below, only our own bytes are ever loaded
from collections.abc import Sequence

from django.conf import settings
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bots.schema import IntentSpec

DEFAULT_THRESHOLD = 0.45
_MAGIC = b"sbnlu1"
# Out-of-scope examples: give the model somewhere to put text that is about nothing the bot
# knows, so a single-intent bot does not answer every message with that intent.
_OUT_OF_SCOPE = "__out_of_scope__"
_OOS_EXAMPLES = [
    "what is the weather like",
    "tell me a joke",
    "who won the game last night",
    "hello",
    "thanks",
    "ok",
    "what time is it",
    "asdf qwerty",
]


class NluError(ValueError):
    pass


def _pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)),
        ]
    )
    return Pipeline([("features", features), ("model", LogisticRegression(C=20.0, max_iter=2000))])


def _sign(payload: bytes) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), payload, hashlib.sha256).digest()


def train(intents: Sequence[IntentSpec]) -> bytes:
    """Train on every intent's examples; an empty bot gets a model that never matches."""
    texts: list[str] = []
    labels: list[str] = []
    for intent in intents:
        for example in intent.examples:
            if example.strip():
                texts.append(example)
                labels.append(intent.name)
    model = None
    if texts:
        texts += _OOS_EXAMPLES
        labels += [_OUT_OF_SCOPE] * len(_OOS_EXAMPLES)
        model = _pipeline().fit(texts, labels)
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + _sign(payload) + payload


class Classifier:
    def __init__(self, model, threshold: float = DEFAULT_THRESHOLD):
        self._model = model
        self.threshold = threshold
        self.intents: list[str] = [c for c in model.classes_ if c != _OUT_OF_SCOPE] if model is not None else []
        if model is not None:
            words = model.named_steps["features"].transformer_list[0][1]
            self._tokenize = words.build_tokenizer()
            self._vocabulary = {w for w in words.vocabulary_ if " " not in w}

    def _coverage(self, text: str) -> float:
        """Share of the message's words seen in some example. A long question made mostly of
        unseen words is about something else, however the probabilities split between intents."""
        tokens = self._tokenize(text.lower())
        if not tokens:
            return 0.0
        return sum(t in self._vocabulary for t in tokens) / len(tokens)

    def classify(self, text: str) -> tuple[str | None, float]:
        """The best intent and its probability; `None` when out of scope or below the threshold."""
        if self._model is None or not text.strip():
            return None, 0.0
        probs = self._model.predict_proba([text])[0]
        best = int(probs.argmax())
        label = self._model.classes_[best]
        confidence = float(probs[best]) * (0.5 + 0.5 * self._coverage(text))
        if label == _OUT_OF_SCOPE or confidence < self.threshold:
            return None, confidence
        return str(label), confidence


def load(blob: bytes, *, threshold: float = DEFAULT_THRESHOLD) -> Classifier:
    if not blob or not bytes(blob).startswith(_MAGIC):
        raise NluError("This intent model was not made by Switchboard's trainer; publish the bot again.")
    blob = bytes(blob)
    signature, payload = blob[len(_MAGIC) : len(_MAGIC) + 32], blob[len(_MAGIC) + 32 :]
    if not hmac.compare_digest(signature, _sign(payload)):
        raise NluError("This intent model was trained with another SECRET_KEY; publish the bot again.")
    return Classifier(pickle.loads(payload), threshold)  # noqa: S301 - signature checked above
