"""De-identified DICOM downloads: nothing of the source's patient, dates or instance UIDs remains; off, they do."""
import io

import numpy as np
import pydicom
import pytest

from denoise_core.deidentify import has_patient_name
from denoise_core.image import encode_dicom, read_image

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "PID-4711", "PatientBirthDate": "19610203",
           "StudyDate": "20240512", "SeriesDate": "20240512", "AccessionNumber": "ACC-99",
           "InstitutionName": "St. Example Hospital", "ReferringPhysicianName": "House^Gregory"}
UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")


def patient_dicom(name: str = "Doe^Jane", pixels: np.ndarray | None = None) -> bytes:
    """A CT slice whose header names a patient, with dates, IDs and instance UIDs, and a private element."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    pixels = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) if pixels is None else pixels
    meta = FileMetaDataset()
    meta.TransferSyntaxUID, meta.MediaStorageSOPClassUID = ExplicitVRLittleEndian, CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset("source.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    for keyword, value in {**PATIENT, "PatientName": name}.items():
        setattr(ds, keyword, value)
    ds.Modality, ds.SOPClassUID, ds.SOPInstanceUID = "CT", CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid(), generate_uid()
    ds.private_block(0x0011, "Example Corp", create=True).add_new(0x01, "LO", "secret note")
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def source_values(data: bytes) -> dict[str, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    return {k: str(ds.get(k)) for k in (*PATIENT, *UIDS)}


def all_text(data: bytes) -> str:
    """Every value of every element of a DICOM file, file meta included, as one string."""
    ds = pydicom.dcmread(io.BytesIO(data))
    values = []
    for dataset in (ds.file_meta, ds):
        dataset.walk(lambda _, element: values.append(str(element.value)) if element.tag != 0x7FE00010 else None)
    return "\n".join(values)


def test_deidentified_download_keeps_no_name_id_date_or_uid_of_the_source():
    source = patient_dicom()
    image, meta = read_image(source, name="doe.dcm")
    written = encode_dicom(image, meta, deidentify_key="session-1")
    text = all_text(written)
    for keyword, value in source_values(source).items():
        assert value not in text, keyword
    assert "secret note" not in text
    ds = pydicom.dcmread(io.BytesIO(written))
    assert ds.PatientIdentityRemoved == "YES" and str(ds.PatientName) and ds.StudyDate != PATIENT["StudyDate"]
    back, back_meta = read_image(written, name="out.dcm")  # the pixels and units are those of the image
    assert back_meta.units == "HU" and np.abs(back - image).max() < 1e-4


def test_without_deidentification_the_source_header_is_kept():
    source = patient_dicom()
    image, meta = read_image(source, name="doe.dcm")
    ds = pydicom.dcmread(io.BytesIO(encode_dicom(image, meta)))
    kept = source_values(source)
    for keyword in PATIENT:
        assert str(ds.get(keyword)) == kept[keyword], keyword
    assert ds.StudyInstanceUID == kept["StudyInstanceUID"] and ds.FrameOfReferenceUID == kept["FrameOfReferenceUID"]


def test_one_key_remaps_consistently_and_two_keys_differently():
    source = patient_dicom()
    image, meta = read_image(source, name="doe.dcm")
    first, second = (pydicom.dcmread(io.BytesIO(encode_dicom(x, meta, deidentify_key="session-1")))
                     for x in (image, 1 - image))
    other = pydicom.dcmread(io.BytesIO(encode_dicom(image, meta, deidentify_key="session-2")))
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID", "StudyDate"):
        assert str(first.get(keyword)) == str(second.get(keyword)), keyword  # one study stays one study
        assert str(first.get(keyword)) != str(other.get(keyword)), keyword
    assert first.SOPInstanceUID != second.SOPInstanceUID  # two images stay two instances


@pytest.mark.parametrize("name, expected", [("Doe^Jane", True), ("", False)])
def test_has_patient_name(name, expected):
    _, meta = read_image(patient_dicom(name), name="x.dcm")
    assert has_patient_name(meta.dicom_header) is expected
    assert has_patient_name(None) is False
