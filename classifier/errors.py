"""Typed errors raised by the classifier, so callers can answer users without guessing."""


class ClassifierError(Exception):
    """Base class of every error the classifier raises on purpose."""


class InvalidImageError(ClassifierError, ValueError):
    """The bytes are not an image we can read (empty, truncated, corrupt, too big, unsupported).

    ``str(error)`` is a short sentence that is safe to show to a user.
    """


class ModelIntegrityError(ClassifierError, RuntimeError):
    """The model files, their card and the labels do not agree: refuse to serve wrong answers."""


class ConfigurationError(ClassifierError, ValueError):
    """A setting (environment variable) has a value the classifier cannot use.

    ``str(error)`` names the variable and the reason, never the value.
    """
