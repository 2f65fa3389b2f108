#!/bin/sh
# System libraries printshop needs beyond Python packages, on Debian/Ubuntu.
#   libpango-1.0-0        WeasyPrint's text layout (required; on most machines already)
#   libharfbuzz-subset0   font subsetting in C: write_pdf 0.12 s instead of 1.4 s,
#                         and the same bytes everywhere (without it WeasyPrint
#                         falls back to fontTools)
#   python3-venv          Debian's python3 lacks ensurepip without it
#   qpdf                  the tests run `qpdf --check` on every PDF
# With --test, also what only the tests need:
#   chromium, chromium-driver   the preview's end-to-end test drives Debian's
#                               headless Chromium (nothing downloads a browser)
#   poppler-utils               pdftotext: poppler is one of the readers whose text
#                               the tests compare
# Installs them when run as root with apt-get; otherwise says what to install.
set -u
missing=""
if [ "${1:-}" = "--test" ]; then
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
    command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
fi
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib libpango-1.0.so.0 || missing="$missing libpango-1.0-0"
have_lib libpangoft2-1.0.so.0 || missing="$missing libpangoft2-1.0-0"
have_lib libharfbuzz-subset.so.0 || missing="$missing libharfbuzz-subset0"
${PYTHON:-python3} -c "import ensurepip, venv" 2>/dev/null || missing="$missing python3-venv"
command -v qpdf >/dev/null 2>&1 || missing="$missing qpdf"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "printshop: installing system packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        && exit 0
    echo "printshop: apt-get failed; install these yourself:$missing" >&2
    exit 1
fi
echo "printshop: missing system packages:$missing" >&2
echo "  install them with: sudo apt-get install$missing" >&2
case "$missing" in
    *libpango*|*python3-venv*) exit 1 ;;  # cannot work without these
    *) echo "  (continuing: without libharfbuzz-subset0 rendering is about 4x slower;" >&2
       echo "   without qpdf the PDF structure tests fail)" >&2 ;;
esac
