"""The detector of an experiment: the embedded default or a Darknet cfg + weights (spec E-2.1 hashes both)."""

from __future__ import annotations

from pathlib import Path

from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig


def model_files(config: ExperimentConfig) -> tuple[Path, Path]:
    if config.model == "embedded":
        from cfc_ref.zoo.embedded import embedded_files

        return embedded_files()
    return Path(config.cfg), Path(config.weights)


def load_model(config: ExperimentConfig) -> DarknetModel:
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.weights import load_weights

    cfg, weights = model_files(config)
    if config.model == "darknet" and not weights.exists():
        raise CfcError(f"the weights {weights} do not exist: tools/download_voc.sh DIR fetches the YOLOv2-VOC "
                       "weights (and VOC2007 test) into DIR, or give --weights FILE")
    model = DarknetModel(load_cfg(cfg))
    load_weights(model, weights)
    return model.eval()


def inference_model(model: DarknetModel, config: ExperimentConfig) -> DarknetModel:
    """The network a sweep runs (spec D-8.2): the reference itself, or its fast inference copy, on the device."""
    model = model.to(config.device)
    if config.inference == "fast":
        from cfc_ref.fast.detector import FastDarknet

        return FastDarknet(model)  # type: ignore[return-value]  # the same interface: config, region, run
    return model
