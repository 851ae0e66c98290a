"""qcpt: query-as-context pre-training, fine-tuning and evaluation of dense passage retrievers."""

__version__ = "0.1.0"
