/// Checks a condition that guards correct use of the API or correct gradients, in every build
/// configuration: `precondition` is compiled out under `-Ounchecked`, which this module's kernels
/// are built with. Used per operation, never per element.
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
