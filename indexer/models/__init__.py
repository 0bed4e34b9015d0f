"""The model code: where models load from and which device runs them, the caption families, the captioner, the
caption and image embedders, the numpy text encoders that embed a query without torch, and the OCR engine."""
