from .complexity import MacCounter

__all__ = ['MacCounter']
