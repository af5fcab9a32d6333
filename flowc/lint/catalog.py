"""The lint rule catalogue: stable codes with a name, a default severity, an explanation and a
fix hint.

Codes are never reused. ``FC1xx`` graph, ``FC2xx`` arguments and params, ``FC3xx`` functions
and handlers, ``FC4xx`` portability/backend, ``FC5xx`` compiled KFP YAML, ``FC9xx`` the linter
itself. ``FC0xx`` codes belong to the loader/tracer: a workflow that cannot be traced is
reported with the loader's own code (see :data:`TRACE_FAILURE`).

This module only holds data so that ``flowc rules`` and ``--explain`` stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic, Location, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO
_T = "trace"
_B = "backend"  # raised by compile/run/the CLI, not reported by lint


@dataclass(frozen=True, slots=True)
class Rule:
    """Metadata of one lint rule."""

    code: str
    name: str
    severity: Severity
    summary: str
    explanation: str
    hint: str
    target: str = "workflow"  # workflow | kfp | meta


_RULES = [
    # ----------------------------------------------------------------- FC1xx graph
    Rule("FC101", "cycle", E, "The step graph has a cycle",
         "Steps wait for each other in a loop (through data references or `.after()`), so "
         "none of them can ever start. KFP accepts such a spec and the run hangs or fails.",
         "Remove one of the `.after()` calls or output references that close the loop."),
    Rule("FC102", "undeclared-output", E, "A step reads an output its producer does not declare",
         "`step.outputs[\"x\"]` refers to an output that the producing step never declares in "
         "`outputs=[...]`. Locally the value is simply missing; on KFP the reference is dangling "
         "and the consumer fails at run time.",
         "Add the name to the producer's `outputs=[...]`, or fix the spelling of the key."),
    Rule("FC107", "unknown-step", E, "A reference names a step that does not exist",
         "An output reference or `.after()` names a step that is not part of the workflow "
         "(for example a step from another workflow, or a renamed one).",
         "Reference a step of this workflow by its `name=`."),
    Rule("FC108", "unused-output", W, "A declared output of a consumed step is never used",
         "The step declares an output that no other step reads, while later steps do read its "
         "other outputs or run after it. It is still logged, but it is often a sign of a "
         "misspelled key on the consumer side or of a forgotten wiring. The outputs of a step "
         "that nothing reads or waits for (a sink) are the workflow's results and are not "
         "reported.",
         "Use the output in a later step, or drop it from `outputs=[...]`."),
    Rule("FC109", "redundant-after", I, "`.after()` is already implied by data flow",
         "The explicit ordering edge is implied by data references (directly or transitively), "
         "so the call changes nothing. Keeping only necessary edges keeps the graph readable.",
         "Remove the step from `.after(...)`."),
    Rule("FC110", "output-outside-condition", E,
         "A step reads an output of a step under a condition it does not share",
         "The producing step runs only under a `Condition`, and the reading step is not under "
         "that condition (nor nested inside it). When the condition is false the output does "
         "not exist; on KFP the output is not even visible outside the condition's sub-DAG, "
         "so `flowc compile` fails with FC436.",
         "Move the reading step into the producer's `with dsl.Condition(...)` block (or nest "
         "its own block inside it), or move the producer out of the condition."),
    Rule("FC106", "empty-workflow", E, "The workflow has no steps",
         "Tracing the pipeline function recorded no step: it does nothing when run. Usually the "
         "DSL calls are behind a Python condition or in a helper that was never called.",
         "Call `run_function`/`build_function`/`deploy_function` inside the pipeline function."),
    # ----------------------------------------------------------------- FC2xx args and params
    Rule("FC216", "unknown-param", E, "A param or input the handler does not accept",
         "The step passes a parameter or input whose name is not a parameter of the handler "
         "function (and the handler takes no `**kwargs`). MLRun silently drops it or fails "
         "minutes into the run; the usual cause is a typo.",
         "Rename the key to one of the handler's parameters (see the suggestion), or add the "
         "parameter to the handler."),
    Rule("FC217", "missing-required-param", E, "A required handler parameter is not set",
         "The handler has a parameter without a default and the step passes no param or input "
         "of that name, so the call fails when the step runs.",
         "Pass it in `params=` (values) or `inputs=` (data), or give it a default."),
    Rule("FC218", "param-type-mismatch", E, "A literal contradicts the handler's annotation",
         "A literal param value has a type that the handler's annotation does not accept, e.g. "
         "`\"0.1\"` for `test_size: float`. MLRun does not check it; the handler gets the wrong "
         "type at run time.",
         "Pass a value of the annotated type."),
    Rule("FC219", "artifact-param-mixup", E,
         "An artifact is wired into a value parameter or the reverse",
         "Artifacts (datasets, models, files) belong in `inputs=` and arrive as a DataItem; "
         "values (str, int, ...) belong in `params=`. Mixing them passes a URI string where data "
         "was expected, or a value where a file was expected.",
         "Move the key between `params=` and `inputs=` to match what the value is."),
    Rule("FC215", "invalid-arg-default", E, "An argument default violates its own type or choices",
         "The default value of a workflow argument is not one of its `choices`, or does not have "
         "its declared type. A run that uses the default is invalid.",
         "Fix the default or the choices/type."),
    Rule("FC208", "invalid-expression", E, "A condition or stop_condition cannot be parsed",
         "`Condition(...)` and `HyperParamOptions(stop_condition=...)` strings are parsed by "
         "flowc's expression grammar (comparisons joined with and/or/not). This one is not "
         "valid, so the workflow cannot be compiled or run.",
         "Fix the expression at the caret, e.g. `accuracy > 0.9 and loss < 0.2`."),
    Rule("FC220", "unknown-selector-result", W,
         "A hyper-parameter selector names a result never logged",
         "`HyperParamOptions(selector=\"max.accuracy\")` picks the best iteration by a result "
         "that the handler must log with `context.log_result`. The handler never logs it, so no "
         "iteration can be selected.",
         "Select a result the handler logs, or log it in the handler."),
    Rule("FC301", "unknown-function", E, "The function is not in the project nor on the hub",
         "`run_function(\"name\")` names a function that the project does not define, and it is "
         "not a `hub://` function flowc knows, so nothing can be run.",
         "Add the function to project.yaml (`set_function`), fix its name, or import it."),
    Rule("FC302", "handler-not-found", E, "The handler is missing from the function's source",
         "The step's handler is not a top-level function in the function's source file.",
         "Fix the handler name or define the function in the source file."),
    Rule("FC303", "function-source-missing", E, "The function's source file does not exist",
         "The function's `url` points at a file that does not exist under the project folder, "
         "or its project entry has no `url` at all.",
         "Fix the path in project.yaml, relative to the project folder."),
    Rule("FC304", "unused-built-image", W, "A built image is never used",
         "A build step produces an image, but no step uses it: neither through the build's "
         "`image` output nor by running the same function later.",
         "Use the built image (run the built function or pass `builder.outputs[\"image\"]`), or "
         "remove the build step."),
    Rule("FC305", "deploy-without-models", W, "A deploy step has no models",
         "A serving function is deployed with no `models=[...]`, so the endpoint serves nothing.",
         "Pass `models=[{\"key\": ..., \"model_path\": ...}]` to `deploy_function`."),
    Rule("FC307", "function-source-not-python", E, "The function's source is not a Python file",
         "The local engine and KFP run handlers from `.py` files; this function's url names "
         "something else (a YAML file without code, a folder, ...).",
         "Point the function's url at the .py file that holds its handler.", _B),
    Rule("FC306", "unreadable-handler-source", E, "The function's source cannot be parsed",
         "flowc reads handlers statically with `ast` (never importing them); this source file has "
         "a syntax error, so the function would fail to load in the step too.",
         "Fix the syntax error in the function's source file."),
    # ----------------------------------------------------------------- FC4xx portability
    Rule("FC401", "unpinned-image", W, "An image has no tag or uses `:latest`",
         "An image without a tag means `:latest`, which changes under you: two runs of the same "
         "workflow may use different code, and cached KFP steps may be reused across versions.",
         "Pin a version tag (`mlrun/mlrun:1.7.0`) or a digest (`image@sha256:...`)."),
    Rule("FC402", "step-name-collision", E, "Step names collide after KFP name sanitisation",
         "KFP turns task names into lower-case DNS-1123 names (letters, digits, `-`). Two step "
         "names that map to the same sanitised name overwrite each other in the compiled spec.",
         "Rename one of the steps (`name=`) so that the names stay distinct in lower case."),
    Rule("FC403", "local-path-input", W, "A data input is a local file path",
         "An input is a path on this machine. It works with the local engine but does not exist "
         "in a KFP container.",
         "Log the data as a project artifact and pass its `store://` URI, or use object storage."),
    Rule("FC404", "hardcoded-secret", W, "A secret-looking param is a literal",
         "A param whose name looks like a credential (password, token, secret, api_key) has a "
         "literal value. It ends up in the compiled spec, the run database and logs.",
         "Use `project.get_secret(key)` so that only a secret reference is compiled."),
    # ----------------------------------------------------------------- FC5xx compiled KFP YAML
    Rule("FC500", "invalid-kfp-spec", E, "The KFP pipeline YAML is malformed",
         "The file looks like a compiled KFP pipeline but is missing required sections or has "
         "the wrong shape, so nothing else in it could be checked.",
         "Recompile the pipeline instead of editing the YAML by hand.", "kfp"),
    Rule("FC501", "dangling-producer-task", E, "An input names a producer task that does not exist",
         "A `taskOutputParameter`/`taskOutputArtifact` names a `producerTask` that is not a task "
         "of the same DAG. kfp's loader accepts it; the run fails.",
         "Point `producerTask` at a task of the same DAG.", "kfp"),
    Rule("FC502", "dangling-dependent-task", E, "`dependentTasks` names a task that does not exist",
         "A task depends on a task that is not in the same DAG. kfp's loader accepts it.",
         "Remove the name from `dependentTasks` or add the task.", "kfp"),
    Rule("FC503", "dangling-component-ref", E,
         "`componentRef` names a component that does not exist",
         "A task (or the root) refers to a component that is not in `components`.",
         "Add the component or fix `componentRef.name`.", "kfp"),
    Rule("FC504", "missing-executor", E, "A component's executor is not in `deploymentSpec`",
         "A component's `executorLabel` has no entry in `deploymentSpec.executors`, so there is "
         "no container to run.",
         "Add the executor or fix `executorLabel`.", "kfp"),
    Rule("FC505", "kfp-param-artifact-mixup", E,
         "A parameter is fed from an artifact or the reverse",
         "A task input is wired to something of the other kind: a parameter input from an "
         "artifact output (or an output key that is not a parameter), or an artifact input from "
         "a parameter.",
         "Wire parameters to `taskOutputParameter`/`componentInputParameter` and artifacts to "
         "`taskOutputArtifact`/`componentInputArtifact`.", "kfp"),
    Rule("FC506", "kfp-artifact-type-mismatch", E, "An artifact of one type is wired into another",
         "The producer's artifact type (`schemaTitle`, e.g. `system.Dataset`) differs from the "
         "consumer's input type (e.g. `system.Model`). `system.Artifact` accepts any type.",
         "Wire an output of the input's type, or change the input type.", "kfp"),
    Rule("FC507", "kfp-cycle", E, "The tasks of a DAG form a cycle",
         "Tasks depend on each other in a loop through `dependentTasks` or input references.",
         "Break the loop.", "kfp"),
    Rule("FC508", "kfp-missing-input", E, "A required component input is not provided",
         "The component declares an input with no default that is not optional, and the task "
         "does not provide it.",
         "Provide the input in the task's `inputs`, or mark it optional with a default.", "kfp"),
    Rule("FC509", "kfp-unknown-input", E, "A task provides an input the component does not declare",
         "The task passes an input that is not in the component's `inputDefinitions`.",
         "Remove it or declare it in the component.", "kfp"),
    Rule("FC510", "dangling-pipeline-input", E,
         "An input reads a pipeline input that does not exist",
         "`componentInputParameter`/`componentInputArtifact` names an input that the enclosing "
         "component (the pipeline for the root DAG) does not declare.",
         "Declare the input on the enclosing component or fix the name.", "kfp"),
    Rule("FC511", "kfp-unknown-output", E, "An input reads an output the producer does not declare",
         "`outputParameterKey`/`outputArtifactKey` names an output that is not in the producer "
         "component's `outputDefinitions`.",
         "Read an output the producer declares.", "kfp"),
    Rule("FC512", "kfp-parameter-type-mismatch", E, "A parameter value has the wrong type",
         "A constant or an upstream parameter of one `parameterType` (e.g. STRING) feeds a "
         "parameter of another (e.g. NUMBER_INTEGER). kfp rejects this at compile time, but a "
         "hand-edited or generated spec gets through its loader.",
         "Pass a value of the input's `parameterType`.", "kfp"),
    # ----------------------------------------------------------------- FC9xx the linter
    Rule("FC901", "unused-noqa", W, "A `# noqa` comment suppresses nothing",
         "The `# noqa: CODE` comment names a code that is not reported on that line (anymore). "
         "Stale suppressions hide future problems.",
         "Remove the code (or the whole comment).", "meta"),
]

# Codes the loader and tracer emit (flowc/compiler, flowc/schema, flowc/project.py). Lint
# reports them as they come; they are listed so that selection, --explain and SARIF know them.
_RULES += [
    Rule("FC001", "workflow-not-found", E, "The workflow file or target cannot be found",
         "The path, handler or project workflow named does not exist.",
         "Check the path (and `PATH:HANDLER`).", _T),
    Rule("FC002", "syntax-error", E, "The workflow file has a syntax error",
         "Python cannot parse the workflow file.", "Fix the syntax error at the location.", _T),
    Rule("FC003", "trace-exception", E, "The workflow raised an exception while it was traced",
         "flowc calls the pipeline function once with stand-in values; the function (or the "
         "module body) raised.",
         "Fix the error; code that needs real argument values must run inside a step.", _T),
    Rule("FC004", "unknown-project-workflow", E, "The project has no workflow of that name",
         "`-w NAME` names a workflow that project.yaml does not register.",
         "Register it with `project.set_workflow(name, path)`.", _T),
    Rule("FC005", "no-workflow-function", E, "No (or no unique) workflow function in the file",
         "The file has no function decorated with `@workflow`/`@dsl.pipeline` nor one named "
         "`pipeline`/`kfpipeline`, or it has several.",
         "Decorate the function, or name it with `PATH:HANDLER`.", _T),
    Rule("FC010", "dsl-outside-trace", E, "A DSL call ran outside a workflow trace",
         "`run_function` and friends record steps only while flowc traces a workflow; this one "
         "ran at import time.", "Move the call into the pipeline function.", _T),
    Rule("FC011", "standin-misuse", E, "A run-time value was used as a Python value",
         "Arguments and step outputs are only known when the workflow runs; branching on one "
         "with `if`, or converting it, cannot be traced.",
         "Use `Condition(...)` for branches and pass values to steps unchanged.", _T),
    Rule("FC012", "invalid-placeholder", E, "A string holds a malformed stand-in placeholder",
         "A string built from stand-ins could not be parsed back into the IR.",
         "Build strings with f-strings over arguments and outputs only.", _T),
    Rule("FC013", "project-not-found", E, "There is no project.yaml",
         "The workflow names a project, but no project.yaml was found.",
         "Create one, or pass `--project DIR`.", _T),
    Rule("FC014", "invalid-project", E, "project.yaml is invalid",
         "project.yaml is not valid YAML or does not match the project schema.",
         "Fix project.yaml at the location.", _T),
    Rule("FC015", "path-outside-project", E, "A path escapes the project folder",
         "A workflow or function path points outside the project folder.",
         "Keep project files inside the project folder.", _T),
    Rule("FC016", "unsupported-api", E, "The workflow uses an mlrun/kfp API flowc does not support",
         "Inside workflow files `mlrun` and `kfp` are flowc's stand-ins; this attribute has no "
         "stand-in.", "Use the supported DSL (run_function, build_function, deploy_function, "
         "import_function, dsl.pipeline, dsl.Condition).", _T),
    Rule("FC103", "invalid-output-declaration", E, "An `outputs=[...]` entry is malformed",
         "Outputs are names (`\"model\"`) or `name:type` with a known type, each declared once.",
         "Fix the declaration.", _T),
    Rule("FC104", "step-used-as-value", E, "A step handle is passed where a value is expected",
         "A step itself (not one of its outputs) was passed as a param or input.",
         "Pass `step.outputs[\"name\"]`, or use `.after(step)` for ordering.", _T),
    Rule("FC105", "invalid-after", E, "`.after()` got something that is not a step",
         "`.after()` takes what `run_function`/`build_function`/`deploy_function` returned.",
         "Pass step handles.", _T),
    Rule("FC201", "invalid-argument-value", E, "A value has the wrong shape or type",
         "A workflow argument value cannot be converted to its type, or a DSL call got the "
         "wrong shape (e.g. `params=` that is not a dict).", "Pass a value of the right type.", _T),
    Rule("FC202", "unknown-argument", E, "An argument the workflow does not take",
         "A value or a reference names a workflow argument that the pipeline function does not "
         "declare.", "Use one of the workflow's arguments (see the suggestion).", _T),
    Rule("FC203", "missing-argument", E, "A required workflow argument has no value",
         "The argument has no default and no value was given.", "Pass `-A name=value`.", _T),
    Rule("FC204", "argument-schema-violation", E, "An argument value violates its schema",
         "The value does not match the argument's type or choices.", "Pass a valid value.", _T),
    Rule("FC206", "invalid-value", E, "A value cannot be stored in a workflow",
         "Workflow values must be JSON (str, int, float, bool, None, lists, dicts) or stand-ins.",
         "Use JSON values or step outputs.", _T),
    Rule("FC207", "invalid-hyper-options", E, "Hyper-parameter options are invalid",
         "Unknown strategy, candidates that are not lists, lists of different lengths with "
         "strategy `list`, or a malformed selector.", "Fix the hyper-parameter options.", _T),
    Rule("FC209", "unknown-project-param", W, "`get_param` of a key the project lacks, no default",
         "`project.get_param(key)` is called without a default and the project's `params` do "
         "not have the key, so the step receives None.",
         "Add the key to `spec.params` in project.yaml or pass a default: "
         "`get_param(key, default)`.", _T),
    Rule("FC210", "invalid-secret-key", E, "A secret key has illegal characters",
         "Secret keys may hold letters, digits, `_`, `.` and `-`.", "Rename the key.", _T),
    Rule("FC211", "args-schema-type-conflict", W, "args_schema type differs from the signature",
         "The project's `args_schema` gives an argument another type than the pipeline "
         "function's annotation. MLRun applies the schema only to named workflows, so the "
         "behaviour depends on how the workflow is started.",
         "Make the annotation and the schema agree.", _T),
    Rule("FC212", "args-schema-default-conflict", W,
         "args_schema default differs from the signature",
         "The project's `args_schema` and the pipeline function give different defaults.",
         "Keep one default.", _T),
    Rule("FC213", "args-schema-unknown-arg", W, "args_schema names an argument the function lacks",
         "An `args_schema` entry names a parameter the pipeline function does not take.",
         "Add the parameter or drop the entry.", _T),
    Rule("FC214", "args-schema-invalid-type", W, "args_schema uses an unknown type",
         "Argument types are str, int, float, bool, list and dict.", "Use a known type.", _T),
    Rule("FC442", "ignored-mlrun-option", W, "An MLRun option that flowc does not apply",
         "The call passes an MLRun option (schedule, local, retry, auto_build, ...) that only "
         "steers MLRun's own machinery; flowc accepts it so the file traces unchanged, and "
         "ignores it.", "Remove it, or use the backend's own feature (e.g. KFP retries).", _T),
    # ------------------------------------------------------- backends and CLI (not lint rules)
    # Errors that `flowc compile`, `flowc run` and the CLI raise; listed so that every code
    # flowc prints has an explanation (`flowc lint --explain CODE`).
    Rule("FC006", "graph-render-failed", E, "The graph cannot be rendered in that format",
         "svg/png need Graphviz's `dot` on PATH and an output file.",
         "Install graphviz, pass -o FILE, or use --format mermaid|dot.", _B),
    Rule("FC007", "cannot-write-output", E, "The output file cannot be written",
         "`-o FILE` names a folder, a read-only place or a path whose folder cannot be made.",
         "Choose a writable file path.", _B),
    Rule("FC020", "dirty-work-tree", E, "The git work tree has uncommitted changes",
         "`flowc run` records which code a run used; with uncommitted changes it cannot.",
         "Commit the changes, or pass --dirty (dirty=True).", _B),
    Rule("FC021", "bad-secrets-file", E, "The secrets file is missing or malformed",
         "Local secrets come from the environment or a KEY=VALUE file.",
         "Fix the file at the location.", _B),
    Rule("FC022", "unknown-run", E, "No recorded run (or step) of that id",
         "The runs database has no such run or step.", "List runs with `flowc runs`.", _B),
    Rule("FC023", "run-still-running", E, "The run is still running",
         "A run can be resumed only after it ended.", "Stop it first, or wait for it.", _B),
    Rule("FC024", "kfp-host-missing", E, "Submitting to KFP needs the API's URL",
         "`--engine kfp` submits with kfp.Client, which needs --host.", "Pass --host URL.", _B),
    Rule("FC030", "fork-server-failed", E, "The local fork server failed",
         "The process that forks step processes stopped unexpectedly.",
         "Re-run; set FLOWC_PRELOAD=0 if preloading a library breaks forking.", _B),
    Rule("FC430", "kfp-unknown-step-kind", E, "A step kind KFP lowering does not know",
         "Steps are run, build or deploy.", "Fix the IR document.", _B),
    Rule("FC431", "kfp-function-not-embeddable", E, "The function's code cannot be embedded",
         "KFP steps carry their handler source; the function URL names no readable Python "
         "source (and no image is given).", "Point the function at a .py file or an image.", _B),
    Rule("FC432", "kfp-value-not-passable", E, "A value KFP cannot pass",
         "KFP passes JSON parameters and artifacts; this value is neither.",
         "Pass JSON values or step outputs.", _B),
    Rule("FC433", "kfp-invalid-hyper", E, "Hyper-parameter options KFP cannot lower",
         "The candidates or strategy cannot become a ParallelFor.", "Fix the options.", _B),
    Rule("FC434", "kfp-build-without-registry", E, "A build step needs a registry",
         "kaniko pushes the built image; flowc needs to know where.",
         "Pass --registry REGISTRY (or set image= on the build).", _B),
    Rule("FC435", "kfp-condition-not-expressible", E, "A condition KFP cannot express",
         "KFP conditions are CEL over task outputs and pipeline parameters.",
         "Compare outputs or arguments with literals.", _B),
    Rule("FC436", "kfp-output-outside-condition", E, "An output is read outside its condition",
         "A step under a condition may not run; a step outside it cannot read its outputs on "
         "KFP.", "Move the reader under the same condition.", _B),
    Rule("FC437", "kfp-unknown-output-type", E, "An output type KFP does not know",
         "Outputs are artifact, dataset, model, str, int, float, bool, list or dict.",
         "Use a known type.", _B),
    Rule("FC438", "kfp-secret-in-expression", E, "A secret mixed with other values",
         "KFP injects secrets as environment variables; a secret inside a concatenation or "
         "next to other references cannot be lowered.", "Pass the secret as a param of its own.",
         _B),
    Rule("FC439", "kfp-invalid-secret-name", E, "A secret key is not a valid Kubernetes name",
         "Secrets become Kubernetes secret references.", "Use a DNS-1123 name.", _B),
    Rule("FC440", "kfp-submit-failed", E, "Submitting to the KFP API failed",
         "The KFP API refused the upload or the run, or could not be reached.",
         "Check --host and the cluster.", _B),
    Rule("FC441", "kfp-hyper-option-ignored", W, "A hyper-parameter option KFP cannot apply",
         "A ParallelFor runs every trial: stop_condition and max_errors are not applied.",
         "Run locally for early stopping, or drop the option.", _B),
    Rule("FC902", "lint-config-invalid", E, "The lint configuration is invalid",
         "`[tool.flowc.lint]` (or --config) has an unknown key, code or a TOML error.",
         "Fix the configuration at the location.", _B),
    Rule("FC903", "lint-usage", E, "A lint path or option is invalid",
         "A path does not exist, or an option names an unknown code.",
         "See `flowc rules` for the codes.", _B),
    Rule("FC405", "unsupported-param-file", W, "Hyper-parameter `param_file` is not supported",
         "flowc does not read hyper-parameter CSV files; their rows are ignored.",
         "List the candidates in `hyperparams={...}`.", _T),
]
_RULES.sort(key=lambda r: r.code)

RULES: dict[str, Rule] = {r.code: r for r in _RULES}

# A workflow that cannot be traced is reported with the loader's code (FC0xx); this pseudo-rule
# describes those findings for --explain, SARIF metadata and selection.
TRACE_FAILURE = Rule(
    "FC000", "trace-failure", E, "The workflow could not be loaded or traced",
    "The workflow file has a syntax error, raised an exception while it was traced, or uses a "
    "construct that cannot be traced. The code (FC0xx) is the loader's; the location is the "
    "offending line. Other files are still linted.",
    "Fix the error at the location shown; `flowc ir FILE` shows the same message.", "meta")


def get_rule(code: str) -> Rule | None:
    """The rule with ``code``; FC0xx codes map to the trace-failure pseudo-rule."""
    rule = RULES.get(code)
    if rule is None and code.startswith("FC0"):
        return TRACE_FAILURE
    return rule


def finding(code: str, message: str, location: Location | None, *, hint: str | None = None,
            severity: Severity | None = None) -> Diagnostic:
    """A diagnostic for rule ``code`` with the rule's default severity and hint."""
    rule = RULES[code]
    return Diagnostic(code=code, message=message, severity=severity or rule.severity,
                      location=location, hint=hint if hint is not None else rule.hint)
