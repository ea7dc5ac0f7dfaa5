"""The interactive Streamlit demo (``harness app``): finished runs, uploads, live attacks.

- ``runs``: find and read run folders (what ``harness run`` wrote), one-line errors.
- ``models``: rebuild each run's models from their recorded architecture and weights.
- ``upload``: validate an uploaded file and convert it to a model's input.
- ``inference``: predictions, Grad-CAM, attacks and the smallest flipping eps on one image.
- ``launch``: the ``streamlit run`` command line; ``page``: the Streamlit script itself.

The app only reads run folders and weights: it never trains and never recomputes a report.
"""
