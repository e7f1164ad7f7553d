// CURVE certificates in the text format of CZMQ's zcert (the ZeroMQ Property Language), which
// pyzmq's zmq.auth.load_certificate also reads: `NAME.key` holds the public key, `NAME.key_secret`
// both (mode 0600). A client's role travels in the `metadata` section (`role = "operator"`).
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace ampere {

/// A key pair (or a public key alone) as Z85 text, 40 characters each, and its metadata.
struct Certificate {
  std::string public_key;
  std::string secret_key;  ///< empty in a public certificate
  std::map<std::string, std::string> metadata;
  bool has_secret() const { return !secret_key.empty(); }
};

/// A fresh key pair (libzmq's zmq_curve_keypair); throws when libzmq has no CURVE.
Certificate generate_certificate();

/// Writes `base`.key (the public certificate, 0644) and `base`.key_secret (0600), refusing to
/// overwrite either. Throws InputError naming the file.
void write_certificate_pair(const std::filesystem::path& base, const Certificate& certificate);

/// Reads a certificate file. Throws InputError naming the file and line when it is not one: no
/// `curve` section, a key that is not 40 Z85 characters, a secret key that does not match the
/// public key, or a secret certificate that others may read (mode beyond 0600).
Certificate load_certificate(const std::filesystem::path& file);

/// The ZPL text of `certificate` (secret: with its secret key and the CZMQ warning header).
std::string certificate_text(const Certificate& certificate, bool secret);

}  // namespace ampere
