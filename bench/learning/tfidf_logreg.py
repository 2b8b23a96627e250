"""The baseline a practitioner tries first on a text task: scikit-learn's TfidfVectorizer (defaults) and
LogisticRegression(max_iter=1000), fitted on one JSONL file of {"text", "label"} records and scored on another.

    python bench/learning/tfidf_logreg.py TRAIN.jsonl TEST.jsonl
prints {"accuracy": ..., "seconds": ...} (seconds: vectorising, fitting and predicting).
"""
import json
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def read(path):
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in records], [str(r["label"]) for r in records]


def main(train_path, test_path):
    train_texts, train_labels = read(train_path)
    test_texts, test_labels = read(test_path)
    started = time.perf_counter()
    vectorizer = TfidfVectorizer()
    model = LogisticRegression(max_iter=1000)
    model.fit(vectorizer.fit_transform(train_texts), train_labels)
    predicted = model.predict(vectorizer.transform(test_texts))
    seconds = time.perf_counter() - started
    accuracy = sum(p == t for p, t in zip(predicted, test_labels)) / len(test_labels)
    print(json.dumps({"accuracy": accuracy, "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
