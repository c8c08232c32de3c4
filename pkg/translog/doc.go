// Package translog is signstar's transparency log: an append-only Merkle
// tree (RFC 6962 hashing) with one leaf per released signature, signed
// checkpoints, and the inclusion and consistency proofs that let anyone
// check, away from the signing host, that the record they are shown is
// complete and was not rewritten.
//
// The tree arithmetic and the signed-note format are the Go checksum
// database's own code, golang.org/x/mod/sumdb/tlog and
// golang.org/x/mod/sumdb/note; this package adds the leaf record, the
// on-disk store and the signer that keeps the log key on the token.
//
// # The leaf
//
// A leaf is an [Entry] in a small canonical text encoding: a first line
// "signstar-log-entry v1", then exactly these lines, in this order, each
// "NAME VALUE" ended by a newline (U+000A):
//
//	time 2026-11-29T19:07:19Z
//	account build
//	ssh-key SHA256:Xz0m3p4bW8i3Hq2V1Tc0zZ0w6t9n1y3dQyQ2o8B3x5c
//	key 7C3F0C7A0B9E6A5F1D2C3B4A59687766554433221100FFEEDDCCBBAA99887766
//	format openpgp-detached
//	size 1048576
//	digest sha512:<128 lower-case hex digits>
//	signature sha256:<64 lower-case hex digits>
//
// time is the signing time in UTC, RFC 3339 to the second with a "Z";
// account is the signing account; ssh-key the fingerprint of the client's
// SSH key as ssh-keygen -l prints it; key the signing key's fingerprint;
// format the signature format; size the input size in bytes (decimal, no
// sign or leading zero; "-" where signstar never saw the input, as for a
// digest-only request); digest the hash of the input, or the digest the
// client sent for a digest-only or X.509 request, as ALG:HEX (sha1,
// sha224, sha256, sha384 or sha512, lower-case hex of the algorithm's
// length); signature the SHA-256 of the signature bytes released.
// Values are 1 to 256 bytes of printable ASCII without space (0x21 to
// 0x7e). Nothing else is accepted: [ParseEntry] refuses any other
// spelling, so one entry has exactly one encoding and the leaf hash
// identifies it. No client address is recorded: the log is meant to be
// published, the audit trail has the address.
//
// # The directory
//
// A [Log] lives in a directory laid out as C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles), publishable unchanged by any static web
// server or object store:
//
//	checkpoint                  the latest signed checkpoint
//	tile/<L>/<N>[.p/<W>]        hash tiles of height 8 (256 hashes of 32 bytes)
//	tile/entries/<N>[.p/<W>]    entry bundles: each entry as a big-endian
//	                            uint16 length and the entry's bytes
//	.lock                       the append lock (flock(2))
//	.tree                       the tree as last appended, not yet signed
//
// The dot files are not for publication (rsync --exclude '.*'); nor are
// the temporary files (.NAME.*.tmp) a crash may leave behind.
//
// <N> is written in groups of three digits, all but the last prefixed by
// "x" (1234067 is x001/x234/067), as tlog.Tile.Path does. The partial
// tiles the stored checkpoint names stay until a newer checkpoint is
// signed, so a published copy serves every tile its checkpoint needs;
// other partial tiles are removed once a wider one is written. Readers
// that find a width gone (a copy taken mid-way) use the prefix of a
// wider tile, which the checkpoint authenticates all the same.
//
// The checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint)
// in the signed-note format (https://c2sp.org/signed-note): the origin
// line, the tree size in decimal, the root hash in base64, then the
// signature by the log key, an Ed25519 key whose name is the origin.
//
// # Crash safety
//
// [Log.Append] writes the new tiles and entries first, each to a
// temporary file renamed into place, fsyncs them and their directories,
// and only then renames the new tree file (.tree: size and root, not
// signed) into place: a crash at any point leaves the old tree file,
// which describes data that is all there (files written past it are
// overwritten by the next append). [Log.Checkpoint] signs the tree file's
// tree only after recomputing its root from the tiles, and renames the
// checkpoint into place the same way, so no checkpoint ever names data
// that is not on disk. Appending needs no key: the signing path appends
// after the token is closed, and the checkpoint is signed when someone
// asks for it (log checkpoint, log proof), once per tree.
package translog
