# The nestlab image: `nestlab serve` for one host of a lab (see docs/fleet.md).
#
# Where Docker can pull:       docker build -t nestlab:latest .
# Where nothing can be pulled: make image   (BASE is then a Debian bookworm image made with
#                              debootstrap and `docker import`, see lab/image.py)
# The build context is only what .dockerignore lets through. Few steps, and the ones that
# never change first: with the vfs storage driver every step copies the whole image.
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PATH=/opt/nestlab/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 5985
ENTRYPOINT ["nestlab"]
CMD ["--help"]
# Dependencies in their own layer: rebuilt only when pyproject.toml (or the wheelhouse) changes.
# `make image` adds a wheelhouse/ of every dependency to the context and sets
# PIP_OPTIONS="--no-index --find-links /src", so the build itself needs no registry; without
# one (plain `docker build`), the pattern matches nothing and pip uses PyPI.
ARG PIP_OPTIONS=""
COPY pyproject.toml README.md wheelhous[e] /src/
RUN python3 -m venv /opt/nestlab \
 && pip install --no-cache-dir --quiet --disable-pip-version-check $PIP_OPTIONS "setuptools>=68" wheel \
 && python3 -c "import tomllib; print(*tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /src/requirements.txt \
 && pip install --no-cache-dir --quiet --disable-pip-version-check $PIP_OPTIONS -r /src/requirements.txt \
 && rm -rf /src
# Then the project itself, without its dependencies (already there).
COPY . /src/
RUN pip install --no-cache-dir --quiet --disable-pip-version-check --no-deps --no-build-isolation /src \
 && rm -rf /src
