"""The README's workflow: data → train → (only when accurate enough) report."""

import flowc as fc


@fc.workflow(name="quickstart", description="make data, train a threshold model, report")
def main(threshold: float = 1.0, min_accuracy: float = 0.9):
    project = fc.get_current_project()
    data = fc.run_function("make-data", params={"rows": project.get_param("rows", 200)},
                           outputs=["dataset"])
    train = fc.run_function("train", params={"threshold": threshold},
                            inputs={"dataset": data.outputs["dataset"]},
                            outputs=["model", "test_set", "accuracy"])
    with fc.Condition(train.outputs["accuracy"] >= min_accuracy):
        fc.run_function("report", inputs={"models_path": train.outputs["model"],
                                          "test_set": train.outputs["test_set"]})
