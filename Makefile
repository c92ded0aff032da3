# Scriptorium: `make run` opens the app, `make test` runs every test. Both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LLAMA_VERSION := 0.3.36
# A portable CPU build: llama.cpp's AMX kernels crash on these CPUs (see README, "Building llama.cpp").
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
# pip's wheel cache ignores CMAKE_ARGS, so wheels live in a folder named by the flags' hash.
LLAMA_FLAGS_HASH := $(shell printf '%s %s' '$(LLAMA_VERSION)' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLAMA_WHEELS := .cache/wheels/llama-$(LLAMA_FLAGS_HASH)
STAMP := $(VENV)/.installed-$(LLAMA_FLAGS_HASH)
QPA ?= offscreen

.PHONY: install run test test-fast fuzz soak model bench screenshots clean gpu-llama gpu-carry gpu-check package package-smoke

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools
	@if ! ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
		echo "Building llama-cpp-python $(LLAMA_VERSION) from source (about five minutes on two cores)..."; \
		mkdir -p $(LLAMA_WHEELS); \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION); \
	fi
	# First with its dependencies; then forced, so a same-version build with other flags is replaced.
	$(PIP) install -q $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install -q -e '.[test,bench]'
	$(PIP) install -q --no-deps $$($(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["scriptorium"]["no-deps"])')
	$(PY) -m app.cli models prepare
	touch $(STAMP)

model: install
	$(PY) -m app.cli models prepare

run: install
	$(VENV)/bin/scriptorium

test: install
	QT_QPA_PLATFORM=$(QPA) $(PY) -m pytest -q -m "not slow"

test-fast: install
	QT_QPA_PLATFORM=$(QPA) $(PY) -m pytest -q -m "not embedded and not slow"

# Hostile input at length: thousands of random examples per importer (failures kept in .hypothesis/), full-size files.
FUZZ_EXAMPLES ?= 3000
fuzz: install
	SCRIPTORIUM_FUZZ=1 SCRIPTORIUM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) QT_QPA_PLATFORM=$(QPA) $(PY) -m pytest -q -p no:logging tests/test_fuzz.py tests/test_hostile_files.py

# The worker under load: 1,000 requests with random cancels and disconnects, its memory watched.
soak: install
	QT_QPA_PLATFORM=$(QPA) $(PY) -m pytest -q -m slow tests/test_worker_load.py

bench: install
	$(VENV)/bin/scriptorium bench decode
	$(VENV)/bin/scriptorium bench cache
	$(VENV)/bin/scriptorium bench speculative
	$(VENV)/bin/scriptorium bench gui
	$(VENV)/bin/scriptorium bench compress
	$(VENV)/bin/scriptorium bench corpus
	$(VENV)/bin/scriptorium bench tasks
	$(VENV)/bin/scriptorium bench serve

# The installable app: dist/scriptorium/ (PyInstaller, one folder: the app, the CLI and the worker in one executable)
# and dist/scriptorium-VERSION-linux-ARCH.tar.gz (the folder, a .desktop entry, the icon, install.sh), then its smoke
# test. Several minutes on two cores, so never part of `make test`. PyInstaller comes from the [package] extra only.
package: install
	$(PIP) install -q $$($(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["package"])')
	PY=$(PY) sh packaging/build.sh
	sh packaging/smoke_test.sh

# The smoke test alone, of the newest tarball in dist/ (or TARBALL=...).
package-smoke:
	sh packaging/smoke_test.sh $(TARBALL)

# On a machine with CUDA: rebuild the same sdist with every layer offloadable to the GPU.
gpu-llama: install
	CMAKE_ARGS="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 $(LLAMA_CMAKE_ARGS)" $(PIP) install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==$(LLAMA_VERSION)

# What the GPU machine (no network) needs, in .gpu_carry/: wheels, a slim llama-cpp-python sdist, the embedded
# model in parts of at most 52 MB and its tokens. Then the device calls in packaging/gpu_check.sh's header.
gpu-carry: install
	PY=$(PY) LLAMA_VERSION=$(LLAMA_VERSION) bash packaging/gpu_carry.sh

# On the GPU machine, from the repository root: bench gpu end to end in under 8 minutes, results in $$OUT.
# GPU_CHECK_DRY=1 runs the same script on the CPU (bench gpu --device cpu --tiny).
gpu-check:
	bash packaging/gpu_check.sh

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# PNGs of the real window under Xvfb with real fonts (assets/screenshots/, shown by the README).
# Qt's xcb plugin needs the libxcb/xkb packages below; without a window manager Qt never activates the window.
SHOT_PACKAGES := xvfb openbox fonts-noto-cjk libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
SHOT_DISPLAY ?= :97
screenshots: install
	@missing=$$(for p in $(SHOT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
	mkdir -p assets/screenshots
	Xvfb $(SHOT_DISPLAY) -screen 0 1600x1000x24 -nolisten tcp & xvfb=$$!; \
	sleep 1; DISPLAY=$(SHOT_DISPLAY) openbox & wm=$$!; sleep 1; \
	DISPLAY=$(SHOT_DISPLAY) QT_QPA_PLATFORM=xcb $(PY) -m app.ui.screenshots assets/screenshots $(SHOT_ARGS); rc=$$?; \
	kill $$wm $$xvfb; exit $$rc
