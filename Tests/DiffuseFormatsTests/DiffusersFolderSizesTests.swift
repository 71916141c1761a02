import DiffuseFormats
import Foundation
import Testing

/// `_diffuse_sizes` in model_index.json: the image sizes a model supports, read as
/// `[[width, height], …]`; a malformed list is refused naming the file and the key.
@Suite struct DiffusersFolderSizesTests {
    func folder(_ index: String) throws -> Result<DiffusersFolder, Error> {
        try withTemporaryDirectory { url in
            try Data(index.utf8).write(to: url.appendingPathComponent("model_index.json"))
            return Result { try DiffusersFolder(url) }
        }
    }

    @Test func sizesAreReadAsWidthHeightPairs() throws {
        #expect(try folder(#"{"unet": ["diffusers", "UNet2DModel"]}"#).get().sizes == nil)
        #expect(try folder(#"{"_diffuse_sizes": [[32, 32], [64, 48]]}"#).get().sizes
                == [DiffusersFolder.Size(width: 32, height: 32), DiffusersFolder.Size(width: 64, height: 48)])
        for bad in [#"[32, 32]"#, #"[[32]]"#, #"[[-32, 32]]"#, #"[]"#, #"[[32.5, 32]]"#, #""32x32""#] {
            switch try folder(#"{"_diffuse_sizes": \#(bad)}"#) {
            case .success: Issue.record("accepted _diffuse_sizes \(bad)")
            case .failure(let error):
                #expect("\(error)".contains("model_index.json") && "\(error)".contains("_diffuse_sizes"), "\(error)")
            }
        }
    }

    @Test func theBundledModelListsItsSize() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let emoji = try DiffusersFolder(root.appendingPathComponent("models/emoji"))
        #expect(emoji.sizes == [DiffusersFolder.Size(width: 32, height: 32)])
    }
}
