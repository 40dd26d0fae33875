# source-intercom as a container image.
#
#   docker build -t airbyte/source-intercom:dev .
#   docker run --rm -v $PWD/secrets:/secrets airbyte/source-intercom:dev read --config /secrets/config.json --catalog /secrets/catalog.json
#
# The package is installed from pyproject.toml with pip, as CI installs it (tools/bootstrap.py), but
# neither editable nor with the dev extras. integration_tests/test_container_entrypoint.py checks
# this file and runs its ENTRYPOINT against the Intercom emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /airbyte/integration_code

# Only what `pip install .` needs: the project metadata (pyproject.toml names README.md as its
# readme) and the package, with manifest.yaml and schemas/ as package data. Nothing else of the
# working tree (secrets/, output/, .venv/) enters the image.
COPY pyproject.toml README.md ./
COPY source_intercom ./source_intercom
RUN pip install . && rm -rf build source_intercom.egg-info

# The Airbyte platform reads AIRBYTE_ENTRYPOINT to call the connector; keep it equal to ENTRYPOINT.
ENV AIRBYTE_ENTRYPOINT="source-intercom"
ENTRYPOINT ["source-intercom"]
