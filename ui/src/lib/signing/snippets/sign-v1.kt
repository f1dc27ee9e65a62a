// otpd payload signing v1 — compute the `hash` of one request (Kotlin, JVM or Android 8+).
//
// Usage:
//   val body = mapOf("brand" to "DEMO", "identifierType" to "MOBILE",
//                    "identifierValue" to "+84901234567", "deviceId" to "dev-1", "sessionId" to sessionId)
//   val timeStamp = System.currentTimeMillis()
//   val hash = signV1(SECRET_BASE64, "/auth/v1/otp/generate", body, timeStamp)
//   // send the body with "timeStamp" to timeStamp and "hash" to hash added
//
// The message is these lines joined by "\n" (no trailing newline): v1, timeStamp, path, brand,
// identifierType, identifierValue, deviceId, sessionId, otp — each exactly as sent, empty when
// absent. The hash is the lower-case hex of HMAC-SHA256(secret, message).
// (Below Android 8, decode the secret with android.util.Base64.decode(s, Base64.DEFAULT).)

import java.util.Base64
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

private val SIGNED_FIELDS =
    listOf("brand", "identifierType", "identifierValue", "deviceId", "sessionId", "otp")

/** A field as the request sends it: a string as is, a number as its digits, else empty. */
private fun sent(body: Map<String, Any?>, name: String): String =
    when (val value = body[name]) {
        is String -> value
        is Number -> value.toString()
        else -> ""
    }

fun messageV1(path: String, body: Map<String, Any?>, timeStamp: Long): String =
    (listOf("v1", timeStamp.toString(), path) + SIGNED_FIELDS.map { sent(body, it) })
        .joinToString("\n")

fun signV1(secretBase64: String, path: String, body: Map<String, Any?>, timeStamp: Long): String {
    val secret = Base64.getDecoder().decode(secretBase64.trim())
    val mac = Mac.getInstance("HmacSHA256")
    mac.init(SecretKeySpec(secret, "HmacSHA256"))
    val tag = mac.doFinal(messageV1(path, body, timeStamp).toByteArray(Charsets.UTF_8))
    return tag.joinToString("") { "%02x".format(it) }
}
