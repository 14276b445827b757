"""Helpers of the REST API's tests."""


def error_of(response) -> dict:
    """The error body's inner object, after checking the body has exactly the documented shape."""
    data = response.json()
    assert set(data) == {"error"}, data
    assert set(data["error"]) == {"code", "message", "detail"}, data
    assert isinstance(data["error"]["code"], str) and isinstance(data["error"]["message"], str)
    assert isinstance(data["error"]["detail"], dict)
    return data["error"]
