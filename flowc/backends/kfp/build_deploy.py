"""Build steps (kaniko image builds) and deploy steps (KServe InferenceServices)."""

from __future__ import annotations

import re
from typing import Any

from ... import ir
from ...diagnostics import FlowcError
from . import components as comps
from .types import PARAMETER_TYPE, type_error

_IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


class BuildDeployLowering:
    """Mixin of the lowering for ``build`` and ``deploy`` steps.

    Expects ``self.options``, ``self.project``, ``self.exec_scope``, ``self.registry``,
    ``self._outputs``, ``self._template`` and ``self._function_source``.
    """

    def _build_task(self, step: ir.Step) -> tuple[str, dict, str]:
        params = step.params
        for key, value in params.items():
            if not ir.is_literal(value):
                raise type_error(f"build option {key!r} must be a literal for KFP", step,
                                 code="FC432")
        base_image = params.get("base_image") or (
            step.function.image if isinstance(step.function.image, str) and
            step.function.image and not params.get("image") else None) or \
            self.options.default_image
        requirements = list(dict.fromkeys([*step.function.requirements,
                                           *(params.get("requirements") or [])]))
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = [commands]
        for value in (base_image, *requirements, *commands):
            if not isinstance(value, str) or "\n" in value or "\r" in value:
                raise type_error(f"build option {value!r} must be a one-line string", step,
                                 code="FC432")
        if not _IMAGE_REF.match(base_image):
            raise type_error(f"base image {base_image!r} is not an image reference", step,
                             code="FC432")
        text = comps.dockerfile(base_image, requirements, list(commands))
        destination = self._destination(step, params.get("image"), text)
        if not _IMAGE_REF.match(destination):
            raise type_error(f"image {destination!r} is not an image reference", step,
                             code="FC432")
        outputs = self._outputs(step)
        component = comps.component_dict({}, {}, {n: {"parameterType": PARAMETER_TYPE[t]}
                                         for n, t in outputs if t in PARAMETER_TYPE}, {})
        executor = comps.kaniko_container(text, destination, [n for n, _ in outputs])
        comp_name = self.registry.add(f"build-{step.function.name}", component, executor)
        return step.name, {"cachingOptions": {"enableCache": False}}, comp_name

    def _destination(self, step: ir.Step, image: Any, dockerfile_text: str) -> str:
        registry = (self.options.registry or "").rstrip("/")
        if isinstance(image, str) and image:
            if image.startswith("."):
                if not registry:
                    raise FlowcError(
                        f"build step {step.name!r} pushes {image!r}, relative to a registry, "
                        "but no registry is set", code="FC434", location=step.location,
                        hint="pass --registry REGISTRY to flowc compile")
                return f"{registry}/{image.lstrip('./')}"
            return image
        if not registry:
            raise FlowcError(f"build step {step.name!r} needs a registry to push the image to",
                             code="FC434", location=step.location,
                             hint="pass --registry REGISTRY (or set image=... on the build)")
        repo = re.sub(r"[^a-z0-9._-]", "-", f"{self.project or 'flowc'}-{step.function.name}"
                      .lower())
        return f"{registry}/{repo}:{comps.image_tag(dockerfile_text)}"

    def _deploy_task(self, step: ir.Step) -> tuple[str, dict, str]:
        scope = self.exec_scope[step.name]
        task_params: dict[str, dict] = {}
        task_arts: dict[str, dict] = {}
        comp_params: dict[str, dict] = {}
        comp_arts: dict[str, dict] = {}
        templates = {}
        for name, value in step.params.items():
            templates[name] = self._template(step, scope, value, task_params, comp_params,
                                             task_arts, comp_arts)
        source = None
        handler = step.handler or step.function.handler
        default_class = None
        url = step.function.url
        if url and url.startswith("hub://"):
            try:
                from ...hub import resolve

                hub_fn = resolve(url)
                with open(hub_fn.source_file, encoding="utf-8") as handle:
                    source = handle.read()
                default_class = hub_fn.default_class
                handler = handler or hub_fn.handler
            except (ImportError, OSError) as exc:
                raise FlowcError(f"step {step.name!r}: cannot read serving function {url}: "
                                 f"{exc}", code="FC301", location=step.location) from None
        elif url:
            source, _, handler, _ = self._function_source(step)
        serving_image = step.function.image if isinstance(step.function.image, str) and \
            step.function.image else self.options.default_image
        outputs = self._outputs(step)
        spec = {"kind": "deploy", "function": step.function.name, "project": self.project,
                "templates": templates, "serving_image": serving_image,
                "handler": handler, "default_class": default_class,
                "outputs": [[n, t] for n, t in outputs]}
        component = comps.component_dict(comp_params, comp_arts,
                               {n: {"parameterType": PARAMETER_TYPE[t]} for n, t in outputs
                                if t in PARAMETER_TYPE}, {})
        executor = comps.runtime_container(self.options.default_image, spec, source)
        comp_name = self.registry.add(f"deploy-{step.function.name}", component, executor)
        task: dict[str, Any] = {"cachingOptions": {"enableCache": False}}
        inputs = comps.task_inputs(task_params, task_arts)
        if inputs:
            task["inputs"] = inputs
        return step.name, task, comp_name
