// Fuzz target `items`: arbitrary bytes as an `items=` value through `ItemList.parse`.
@testable import MSLP
import MedsettleCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzItems(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    let result = ItemList.parse(buffer: bytes)
    checkItems(result, of: bytes)
    // The other entry points agree: bytes, and (what the server calls) the decoded String.
    check(ItemList.parse(bytes: Array(bytes)) == result, "parse(bytes:) disagrees")
    if let text = String(validating: bytes, as: UTF8.self) {
        check(ItemList.parse(text) == result, "parse(String) disagrees")
    }
    return 0
}
