"""De-identification of DICOM headers, after the DICOM basic application level confidentiality profile.

The work is done by ``dicognito`` (a maintained implementation of that profile): person names,
IDs, addresses and institution details are replaced, dates and times shifted, and every instance
UID remapped (class and transfer-syntax UIDs kept). The replacements are drawn from a ``key``: one
key maps one original value to one replacement, so the images of one study stay one study, and two
keys give unrelated replacements. Private elements are removed (pydicom's ``remove_private_tags``).
"""
from __future__ import annotations

import io
import warnings


def deidentify(ds, key: str) -> None:
    """De-identify the pydicom dataset ``ds`` in place (its ``file_meta`` too), replacements drawn from ``key``."""
    from dicognito.anonymizer import Anonymizer
    from pydicom.dataset import FileMetaDataset

    if not hasattr(ds, "file_meta"):
        ds.file_meta = FileMetaDataset()
    ds.remove_private_tags()
    Anonymizer(seed=key).anonymize(ds)
    ds.PatientIdentityRemoved = "YES"


def has_patient_name(header: bytes | None) -> bool:
    """Whether a serialised DICOM header (``ImageMeta.dicom_header``) names a patient."""
    if not header:
        return False
    import pydicom
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(header), force=True, specific_tags=["PatientName"])
        return bool(str(ds.get("PatientName", "") or "").strip(" ^="))
    except Exception:  # a header pydicom cannot read cannot be written into a download either
        return False
