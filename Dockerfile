# source-intercom as a container image.
#
#   docker build -t airbyte/source-intercom:dev .
#   docker run --rm -v $PWD/secrets:/secrets airbyte/source-intercom:dev read --config /secrets/config.json --catalog /secrets/catalog.json
#
# The packages are installed as CI installs them (tools/bootstrap.py): exact versions with their
# hashes from a lock, then the project without resolving anything; but from
# requirements/runtime-lock.txt (no dev extras; the versions of requirements/lock.txt, which CI
# tests), and not editable. integration_tests/test_container_entrypoint.py checks this file and
# runs its ENTRYPOINT against the Intercom emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /airbyte/integration_code

# Only what the install needs: the lock, the project metadata (pyproject.toml names README.md as
# its readme) and the package, with manifest.yaml and schemas/ as package data. Nothing else of the
# working tree (secrets/, output/, .venv/) enters the image.
COPY requirements/runtime-lock.txt ./requirements/
COPY pyproject.toml README.md ./
COPY source_intercom ./source_intercom
RUN pip install --require-hashes -r requirements/runtime-lock.txt \
    && pip install --no-deps --no-build-isolation . \
    && rm -rf build source_intercom.egg-info

# What the connector makes from files at every start (the parsed manifest, the CDK's resolution
# of it and its component schema: about 0.25 CPU-s) is made here once and kept in the installed package's
# __pycache__, where each run of the image reads it back (source_intercom/manifest_file.py).
# `-I` keeps the working directory off sys.path: the installed package, not the copy beside it.
RUN python -I -c "from source_intercom.source import SourceIntercom; SourceIntercom()"

# The Airbyte platform reads AIRBYTE_ENTRYPOINT to call the connector; keep it equal to ENTRYPOINT.
ENV AIRBYTE_ENTRYPOINT="source-intercom"
ENTRYPOINT ["source-intercom"]
