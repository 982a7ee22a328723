"""Checks real HTTP answers against an OpenAPI 3.1 document (whose schemas are JSON Schema
2020-12): the document itself is validated once, then each answer's status must be listed for
its path and method, and its JSON body must match that response's schema."""
import re

import jsonschema
import yaml
from openapi_spec_validator import validate as validate_spec


class OpenAPIDocument:
    def __init__(self, path):
        self.document = yaml.safe_load(open(path))
        validate_spec(self.document)
        self.checked = 0
        # Path templates as regular expressions, most specific (fewest parameters) first.
        self.paths = sorted(
            ((re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"), t) for t in self.document["paths"]),
            key=lambda pair: pair[1].count("{"))

    def resolve(self, node):
        """`node` with every local `$ref` replaced by what it points at (the documents have no cycles)."""
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.document
                for part in node["$ref"].lstrip("#/").split("/"): target = target[part]
                merged = {**self.resolve(target), **{k: v for k, v in node.items() if k != "$ref"}}
                return self.resolve(merged)
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list): return [self.resolve(v) for v in node]
        return node

    def check(self, method, target, status, body):
        path = target.split("?")[0]
        template = next((t for regex, t in self.paths if regex.match(path)), None)
        if template is None: raise AssertionError(f"{method} {path}: not in the OpenAPI document")
        operation = self.document["paths"][template].get(method.lower())
        if operation is None: raise AssertionError(f"{method} {template}: not in the OpenAPI document")
        response = operation["responses"].get(str(status))
        if response is None: raise AssertionError(f"{method} {template}: status {status} is not documented")
        schema = self.resolve(response)["content"]["application/json"]["schema"]
        try:
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)
        except jsonschema.ValidationError as error:
            raise AssertionError(f"{method} {target} → {status}: body does not match docs: {error.message}") from None
        self.checked += 1
