# arstudio: `make run` opens the studio, `make test` runs the whole test suite.
# Both create the virtual environment in .venv on first use (torch is pinned to 2.13.0, whose
# CPU build pip finds on the project's machines; set TORCH_PIP_ARGS to point pip elsewhere).

PYTHON ?= python3
VENV ?= .venv
TORCH_PIP_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.arstudio-installed

.PHONY: run test install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/arstudio

# The whole suite (GUI tests sampling in a worker thread: quick to start), then the GUI tests
# again with the studio's own sampler, a child process. Tests run in TEST_WORKERS processes
# (pytest-xdist), each with one torch thread.
TEST_WORKERS ?= 2
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(TEST_WORKERS)
	QT_QPA_PLATFORM=offscreen ARSTUDIO_SAMPLER=process $(BIN)/python -m pytest -q -n $(TEST_WORKERS) -p no:cacheprovider tests/qt

# Debian packages a real window, sound and MIDI rendering need (run as root): the second line is
# audio and MIDI (espeak-ng builds the speech16k data set, soxi checks WAV exports, fluidsynth with
# a small General MIDI soundfont renders MIDI).
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1 libxkbcommon0 libfontconfig1 \
		libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libportaudio2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng sox fluidsynth \
		timgm6mb-soundfont

clean:
	rm -rf $(VENV) build *.egg-info
