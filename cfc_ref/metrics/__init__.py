"""Evaluation: VOC AP/mAP (``voc``), BD-KBPI-mAP (``bd``), annotation and detection files (``files``)."""
