"""Training: data loading for detection (``data``) and the training loop (``loop``)."""
