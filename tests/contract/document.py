"""Reading an OpenAPI document's error responses, for the tests that hold both documents to problem+json."""


def error_responses(document: dict):
    """(operation, status, response) for every error an operation documents, component references resolved."""
    components = document["components"].get("responses", {})
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if status == "default" or int(status) >= 400:
                    if "$ref" in response:
                        response = components[response["$ref"].rsplit("/", 1)[1]]
                    yield f"{method.upper()} {path}", status, response

