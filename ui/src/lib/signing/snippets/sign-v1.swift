// otpd payload signing v1 — compute the `hash` of one request (Swift, CryptoKit: iOS 13+, macOS 10.15+).
//
// Usage:
//   let body: [String: Any] = ["brand": "DEMO", "identifierType": "MOBILE",
//                              "identifierValue": "+84901234567", "deviceId": "dev-1", "sessionId": sessionId]
//   let timeStamp = Int64(Date().timeIntervalSince1970 * 1000)
//   let hash = signV1(secretBase64: SECRET_BASE64, path: "/auth/v1/otp/generate",
//                     body: body, timeStamp: timeStamp)
//   // send the body with "timeStamp": timeStamp and "hash": hash added
//
// The message is these lines joined by "\n" (no trailing newline): v1, timeStamp, path, brand,
// identifierType, identifierValue, deviceId, sessionId, otp — each exactly as sent, empty when
// absent. The hash is the lower-case hex of HMAC-SHA256(secret, message).

import CryptoKit
import Foundation

private let signedFields = ["brand", "identifierType", "identifierValue", "deviceId", "sessionId", "otp"]

/// A field as the request sends it: a string as is, a whole number as its digits, else empty.
private func sent(_ body: [String: Any], _ name: String) -> String {
    switch body[name] {
    case let value as String: return value
    case let value as Int: return String(value)
    case let value as Int64: return String(value)
    default: return ""
    }
}

func messageV1(path: String, body: [String: Any], timeStamp: Int64) -> String {
    (["v1", String(timeStamp), path] + signedFields.map { sent(body, $0) })
        .joined(separator: "\n")
}

/// nil when the secret is not base64.
func signV1(secretBase64: String, path: String, body: [String: Any], timeStamp: Int64) -> String? {
    guard let secret = Data(base64Encoded: secretBase64.trimmingCharacters(in: .whitespaces)) else {
        return nil
    }
    let message = Data(messageV1(path: path, body: body, timeStamp: timeStamp).utf8)
    let tag = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
    return tag.map { String(format: "%02x", $0) }.joined()
}
