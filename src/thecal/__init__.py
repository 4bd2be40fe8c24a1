"""Thecal: open reference software for implanted intrathecal drug delivery systems.

Thecal is not a certified medical device. Every number it prints must be checked by a clinician
against the device labelling and the institution's protocols before it touches a patient.
"""

__version__ = "0.1.0"

NOT_A_MEDICAL_DEVICE = (
    "Thecal is not a certified medical device. Check every number against the device labelling "
    "and your institution's protocols before use."
)
