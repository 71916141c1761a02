/// Checks a condition that guards correct use of the API or correct gradients, in every build
/// configuration (`precondition` would be compiled out under `-Ounchecked`; Diffuse builds with
/// `-O`). Used per operation, never per element.
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
