"""The paper's experiments: the embedded default (``embedded``), the sweep runner (``runner``), reports (``report``)."""
