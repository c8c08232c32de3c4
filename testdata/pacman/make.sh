#!/usr/bin/env bash
# Regenerate the pacman fixtures in this directory with the real tools:
#   signstar-sample-1-1-any.pkg.tar.zst   built by makepkg from the PKGBUILD below
#   sample.db.tar.gz                      repo-add's database listing that package
# Needs makepkg, repo-add, bsdtar, fakeroot and zstd (scripts/deps installs them).
# makepkg refuses to run as root, so as root it runs as the user nobody.
# On Debian, makepkg prints "failed to initialize alpm library" because there
# is no /var/lib/pacman; that is harmless for a package without dependencies.
set -euo pipefail

here=$(dirname "$(readlink -f "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A fixed build date keeps makepkg's output nearly reproducible: it clamps
# every file's mtime to SOURCE_DATE_EPOCH and writes it as builddate. Only
# .BUILDINFO's builddir and startdir (this temp dir) change between runs.
# repo-add has no such switch: sample.db.tar.gz's tar mtimes change too.
export SOURCE_DATE_EPOCH=1735689600 # 2025-01-01T00:00:00Z
export PACKAGER='signstar test fixtures <signstar@example.org>'
export HOME=$work LC_ALL=C TZ=UTC

# Our own makepkg.conf, not /etc/makepkg.conf, so Debian's and Arch's builds
# agree: no stripping or doc handling, zstd packages.
cat >"$work/makepkg.conf" <<'CONF'
CARCH=x86_64
CHOST=x86_64-pc-linux-gnu
BUILDENV=(!distcc !color !ccache !check !sign)
OPTIONS=(!strip !docs !libtool !staticlibs emptydirs !zipman !purge !debug !lto)
INTEGRITY_CHECK=(sha256)
COMPRESSZST=(zstd -c -z -q -19 -)
PKGEXT='.pkg.tar.zst'
SRCEXT='.src.tar.zst'
CONF

cat >"$work/PKGBUILD" <<'PKGBUILD'
pkgname=signstar-sample
pkgver=1
pkgrel=1
pkgdesc='Sample package that signstar signs in its tests and demo'
arch=(any)
url='https://example.org/signstar'
license=(Apache-2.0)

package() {
	install -d "$pkgdir/usr/share/signstar-sample"
	printf 'This file was packaged to be signed by signstar.\n' \
		>"$pkgdir/usr/share/signstar-sample/README"
}
PKGBUILD

as_builder=()
if ((EUID == 0)); then
	chown -R nobody "$work"
	as_builder=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
fi
(
	cd "$work"
	"${as_builder[@]}" env BUILDDIR="$work/build" PKGDEST="$work" SRCDEST="$work" \
		makepkg --config "$work/makepkg.conf" --nodeps --noconfirm --clean
	repo-add --quiet "$work/sample.db.tar.gz" "$work/signstar-sample-1-1-any.pkg.tar.zst"
)

# repo-add also writes the symlink sample.db and the files database; keep
# only the real files.
install -m 644 "$work/signstar-sample-1-1-any.pkg.tar.zst" "$work/sample.db.tar.gz" "$here/"
ls -l "$here"/*.tar.*
