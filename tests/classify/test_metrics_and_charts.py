from __future__ import annotations

import xml.etree.ElementTree as ET

from casework.classify.charts import confusion_svg
from casework.classify.metrics import calibration, confusion, majority_label, score


def test_scores_of_a_small_example():
    truth = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "b", "a"]

    scores = score(truth, predicted)

    assert scores["n"] == 6
    assert scores["accuracy"] == scores["micro_f1"] == round(4 / 6, 4)
    assert scores["per_class"]["a"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "support": 3,
    }
    assert scores["per_class"]["b"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert scores["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["macro_f1"] == round((0.6667 + 0.8 + 0.0) / 3, 4)


def test_calibration_counts_what_is_confident():
    result = calibration(
        ["a", "b", "a", "b"], ["a", "a", "a", "b"], [0.9, 0.8, 0.3, 0.2], threshold=0.5
    )

    assert result["coverage"] == 0.5
    assert result["accuracy_when_confident"] == 0.5


def test_majority_label_breaks_ties_alphabetically():
    assert majority_label(["b", "a", "b", "a", "c"]) == "a"


def test_the_confusion_picture_is_well_formed_svg_with_every_label():
    truth = ["<script>", "a & b", "ä", "ä"]
    predicted = ["<script>", "ä", "ä", "a & b"]
    matrix = confusion(truth, predicted)

    svg = confusion_svg(matrix, title="v1 on test.csv")
    root = ET.fromstring(svg.encode("utf-8"))

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {element.text for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"<script>", "a & b", "ä"} <= texts
    assert matrix.counts[matrix.labels.index("ä")] == [0, 1, 1]


def test_a_large_confusion_matrix_stays_well_formed():
    labels = [f"intent_{i}" for i in range(80)]
    matrix = confusion(labels, labels[1:] + labels[:1])

    root = ET.fromstring(confusion_svg(matrix).encode("utf-8"))
    texts = {element.text for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"intent_0", "intent_79"} <= texts
