#!/bin/sh
# Builds the download that runs without a JDK: target/dist/herald-<version>-linux-x64.tar.gz,
#
#   herald-<version>/bin/herald         the launcher (src/dist/bin/herald)
#   herald-<version>/conf/jvm.options   the JVM options (the repository's jvm.options)
#   herald-<version>/lib/herald.jar     the shaded jar
#   herald-<version>/runtime/           a jlinked Java runtime with only the modules Herald needs
#
# Run by Maven before the integration tests (`make test`, which tests the tarball) and by
# `make dist`; the module list and its reasons are in pom.xml (dist.modules).
#
# usage: build-dist.sh <JDK home> <version> <shaded jar> <jvm.options> <launcher> <out dir> <modules>
set -eu

[ $# -eq 7 ] || { echo "usage: $0 <jdk> <version> <jar> <jvm.options> <launcher> <out dir> <modules>" >&2; exit 2; }
jdk=$1 version=$2 jar=$3 options=$4 launcher=$5 out=$6 modules=$7

# The runtime is the building JDK's own: the tarball is for the platform it is built on.
os=$(sed -n 's/^OS_NAME="\(.*\)"$/\1/p' "$jdk/release")
arch=$(sed -n 's/^OS_ARCH="\(.*\)"$/\1/p' "$jdk/release")
case $os/$arch in
  Linux/x86_64 | Linux/amd64) platform=linux-x64 ;;
  *) echo "build-dist: the distribution is built for linux-x64 only (this JDK: $os/$arch)" >&2; exit 1 ;;
esac

name=herald-$version
stage=$out/$name
tarball=$out/$name-$platform.tar.gz
rm -rf "$stage" "$tarball"
mkdir -p "$stage/bin" "$stage/conf" "$stage/lib"

# JDK 21+: --compress=zip-N (the numeric levels 0/1/2 are deprecated); zip-6 is jlink's default
# level, named here. --strip-debug drops the JDK classes' debug attributes (JDK frames in stack
# traces lose their line numbers; Herald's and its libraries' classes, in the jar, keep theirs).
start=$(date +%s)
"$jdk/bin/jlink" \
  --add-modules "$modules" \
  --strip-debug --no-man-pages --no-header-files --compress=zip-6 \
  --output "$stage/runtime"

cp "$jar" "$stage/lib/herald.jar"
cp "$options" "$stage/conf/jvm.options"
cp "$launcher" "$stage/bin/herald"
chmod 755 "$stage/bin/herald"

# Sorted names, no build user's name or ids in the archive.
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$out" -cf - "$name" | gzip -n -6 > "$tarball"
echo "build-dist: $tarball ($(du -k "$tarball" | cut -f1) KiB, $(($(date +%s) - start)) s; runtime modules: $modules)"
