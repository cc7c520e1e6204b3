"""YOLOv2 (YOLO9000) for PASCAL VOC, Darknet-exact, with split points (paper §2; spec/detector.md).

    cfg = builtin_cfg("yolo-voc")                  # or load_cfg("yolo-voc.cfg")
    model = DarknetModel(cfg)                      # torch module
    load_weights(model, "yolo-voc.weights")        # Darknet weights file
    front, back = split(model, "max_17")           # tensors = front(x); out = back(tensors)
"""
