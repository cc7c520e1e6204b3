"""The detector of an experiment: the embedded default or a Darknet cfg + weights (spec E-2.1 hashes both)."""

from __future__ import annotations

from pathlib import Path

from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, cfg_path, missing_inputs


def model_files(config: ExperimentConfig) -> tuple[Path, Path]:
    """The cfg and weights files of the run's model (a built-in cfg named by name is the package's file)."""
    if config.model == "embedded":
        from cfc_ref.zoo import embedded_files

        return embedded_files()
    return cfg_path(config), Path(config.weights)


def load_model(config: ExperimentConfig) -> DarknetModel:
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.weights import load_weights

    cfg, weights = model_files(config)
    missing = missing_inputs(config)
    if missing:  # E-6.1: every missing input at once
        raise CfcError(f"{' and '.join(missing)} {'do' if len(missing) > 1 else 'does'} not exist: "
                       "tools/download_voc.sh DIR fetches VOC2007 test and the YOLOv2-VOC weights into DIR (relative "
                       "paths in a config are relative to the config file's directory)")
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
