# The nestlab image: `nestlab serve` for one host of a lab (see docs/fleet.md).
#
# Where Docker can pull:       docker build -t nestlab:latest .
# Where nothing can be pulled: make image   (BASE is then a Debian bookworm image made with
#                              debootstrap and `docker import`, see lab/image.py)
# The build context is only what .dockerignore lets through. Two stages: `build` installs the
# project into a venv (few steps, the ones that never change first); the image itself is FROM
# scratch with only what `nestlab serve` runs on (container/slim.sh): on the vfs storage driver
# every `docker create` copies the whole image, so its size is the time of `nestlab up`.
ARG BASE=python:3.11-slim
FROM ${BASE} AS build
ENV PATH=/opt/nestlab/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Dependencies in their own layer: rebuilt only when pyproject.toml (or the wheelhouse) changes.
# `make image` adds a wheelhouse/ of every dependency to the context and sets
# PIP_OPTIONS="--no-index --find-links /src", so the build itself needs no registry; without
# one (plain `docker build`), the pattern matches nothing and pip uses PyPI.
ARG PIP_OPTIONS=""
COPY pyproject.toml README.md wheelhous[e] /src/
# Only the dependencies here (pyproject's list): the project's package folders are not copied yet.
RUN python3 -m venv /opt/nestlab \
 && pip install --no-cache-dir --quiet --disable-pip-version-check $PIP_OPTIONS "setuptools>=77" wheel \
 && python3 -c "import tomllib; print(*tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /src/requirements.txt \
 && pip install --no-cache-dir --quiet --disable-pip-version-check $PIP_OPTIONS -r /src/requirements.txt \
 && rm -rf /src
# Then the project itself, without its dependencies (already there), and the slim tree.
COPY . /src/
RUN pip install --no-cache-dir --quiet --disable-pip-version-check --no-deps --no-build-isolation /src \
 && sh /src/container/slim.sh /slim /opt/nestlab \
 && rm -rf /src

FROM scratch
COPY --from=build /slim/ /
ENV PATH=/opt/nestlab/bin PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
EXPOSE 5985
ENTRYPOINT ["/opt/nestlab/bin/nestlab"]
CMD ["--help"]
