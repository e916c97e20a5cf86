"""Model weights: what each file is, where it comes from, and loading it safely.

* ``catalog``: ``Entry`` (a file and the network that holds it) and the files shipped in ``weights/``;
* ``imports``: the user's own files, converted (``convert``: published layouts, ``train``'s files) into the cache;
* ``zoo``: the published denoisers, fetched on request; ``extras``: the other downloads (LPIPS, Real-ESRGAN);
* ``download``: the downloader (official address or mirror folder, resume, hash policy);
* ``files``: sha256, reading and writing state dicts, and the one load of an entry;
* ``known``: every entry by name, ``fetch`` by name, the rows of ``weights list`` and of the models' overview.

The cache folder is ``$DENOISE_WORKBENCH_CACHE`` or ``~/.cache/denoise-workbench``. Torch is imported only
when a network is built or a state dict read.
"""
from ..errors import WeightsError
from .catalog import CATALOG, DENOISERS, MAX_SHIPPED_BYTES, NOISE_MAP_OPTION, Entry, takes_noise_map
from .convert import build_network, convert_dncnn, convert_drunet, trained_config
from .download import MIRROR_ENV, Source
from .extras import DOWNLOADS, fetched, fetched_paths
from .files import (load_model, load_state, read_metadata, read_state_dict, renamed, save_weights, sha256, status,
                    verify)
from .imports import import_weights, imported, remove_imported, upload_label, upload_suffix
from .known import entries, fetch, fetchable, get_entry, list_rows, overview_rows
from .zoo import ZOO, fetched_zoo, zoo_folder, zoo_summary

__all__ = ["CATALOG", "DENOISERS", "DOWNLOADS", "MAX_SHIPPED_BYTES", "MIRROR_ENV", "NOISE_MAP_OPTION", "ZOO", "Entry",
           "Source", "WeightsError", "build_network", "convert_dncnn", "convert_drunet", "entries", "fetch",
           "fetchable", "fetched", "fetched_paths", "fetched_zoo", "get_entry", "import_weights", "imported",
           "list_rows", "load_model", "overview_rows", "load_state", "read_metadata", "read_state_dict", "remove_imported", "renamed",
           "save_weights", "sha256", "status", "takes_noise_map", "trained_config", "upload_label", "upload_suffix",
           "verify", "zoo_folder", "zoo_summary"]
