"""Datasets: the VOCdevkit reader (``voc``) and the package's synthetic stand-in (``synthetic``)."""
