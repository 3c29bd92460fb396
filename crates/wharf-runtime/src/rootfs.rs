//! Root file systems built in code, for images the engine cannot pull (wharf runs without the
//! internet): a minimal ustar archive writer, which the Engine's import API (`docker import`)
//! turns into a one-layer image, and the sandbox's `pause` program, a static x86_64 Linux ELF of
//! 129 bytes that waits for signals forever.

/// A tar archive (POSIX ustar) built in memory: regular files, directories and symlinks with
/// fixed owner root and mtime 0, enough for single-layer images.
#[derive(Debug, Default, Clone)]
pub struct TarBuilder {
    /// The archive so far (whole 512-byte blocks; the end marker is added by `finish`).
    bytes: Vec<u8>,
}

/// Why an entry cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    /// ustar keeps names and link targets in 100 bytes (this writer does not use the prefix).
    #[error("tar entry name '{0}' is longer than 100 bytes")]
    NameTooLong(String),
    /// Sizes are 11 octal digits.
    #[error("tar entry '{0}' is larger than 8 GiB")]
    TooLarge(String),
}

impl TarBuilder {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file `path` (relative, e.g. `bin/busybox`) with permission bits `mode`.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<&mut Self, TarError> {
        self.header(path, mode, data.len() as u64, b'0', "")?;
        self.bytes.extend_from_slice(data);
        self.pad();
        Ok(self)
    }

    /// Adds a directory `path` with permission bits `mode`.
    pub fn dir(&mut self, path: &str, mode: u32) -> Result<&mut Self, TarError> {
        let name = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        self.header(&name, mode, 0, b'5', "")?;
        Ok(self)
    }

    /// Adds a symbolic link `path` pointing at `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<&mut Self, TarError> {
        self.header(path, 0o777, 0, b'2', target)?;
        Ok(self)
    }

    /// The archive with its end marker (two zero blocks).
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        self.bytes
    }

    fn header(
        &mut self,
        name: &str,
        mode: u32,
        size: u64,
        kind: u8,
        link: &str,
    ) -> Result<(), TarError> {
        if name.len() > 100 {
            return Err(TarError::NameTooLong(name.to_string()));
        }
        if link.len() > 100 {
            return Err(TarError::NameTooLong(link.to_string()));
        }
        if size >= 8 << 30 {
            return Err(TarError::TooLarge(name.to_string()));
        }
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], u64::from(mode & 0o7777));
        octal(&mut h[108..116], 0); // uid
        octal(&mut h[116..124], 0); // gid
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 0); // mtime
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        // The checksum is computed with its own field read as eight spaces.
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        octal(&mut h[148..155], sum);
        h[155] = b' ';
        self.bytes.extend_from_slice(&h);
        Ok(())
    }

    fn pad(&mut self) {
        let rem = self.bytes.len() % 512;
        if rem != 0 {
            self.bytes.resize(self.bytes.len() + 512 - rem, 0);
        }
    }
}

/// Writes `value` as zero-padded octal filling `field` but its last byte, which stays NUL.
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    let text = text.as_bytes();
    // Values never exceed the field (sizes are checked), but keep the low digits if they do.
    let start = text.len().saturating_sub(digits);
    field[..digits].copy_from_slice(&text[start..]);
    field[digits] = 0;
}

/// Where the pause program is loaded (the conventional base of non-PIE x86_64 executables).
const PAUSE_BASE: u64 = 0x40_0000;
/// ELF header size (64-bit).
const EHDR_SIZE: u64 = 64;
/// Program header size (64-bit).
const PHDR_SIZE: u64 = 56;
/// `loop: mov eax, 34 (SYS_pause); syscall; jmp loop`.
const PAUSE_CODE_X86_64: [u8; 9] = [0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7];

/// The pause program for x86_64 Linux: an ELF executable (one PT_LOAD segment mapping the whole
/// file read+execute) whose code calls `pause(2)` in a loop. As PID 1 of its container it
/// ignores SIGTERM (no handler), so the sandbox lives until it is killed.
pub fn pause_elf_x86_64() -> Vec<u8> {
    let code_offset = EHDR_SIZE + PHDR_SIZE;
    let file_size = code_offset + PAUSE_CODE_X86_64.len() as u64;
    let mut f = Vec::with_capacity(file_size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI, padding.
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    f.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: EM_X86_64
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&(PAUSE_BASE + code_offset).to_le_bytes()); // e_entry
    f.extend_from_slice(&EHDR_SIZE.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes()); // e_ehsize
    f.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
                                              // The program header: load the whole file at PAUSE_BASE, readable and executable.
    f.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    f.extend_from_slice(&5u32.to_le_bytes()); // p_flags: PF_R | PF_X
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&PAUSE_BASE.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&PAUSE_BASE.to_le_bytes()); // p_paddr
    f.extend_from_slice(&file_size.to_le_bytes()); // p_filesz
    f.extend_from_slice(&file_size.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.extend_from_slice(&PAUSE_CODE_X86_64);
    f
}

/// The pause image's root file system: `/pause` (mode 0755), as a tar archive.
pub(crate) fn pause_rootfs_x86_64() -> Result<Vec<u8>, TarError> {
    let mut tar = TarBuilder::new();
    tar.file("pause", 0o755, &pause_elf_x86_64())?;
    Ok(tar.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[at..at + 4]);
        u32::from_le_bytes(a)
    }
    fn u64_at(b: &[u8], at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(a)
    }

    #[test]
    fn pause_elf_structure() {
        let elf = pause_elf_x86_64();
        assert_eq!(elf.len(), 129);
        assert_eq!(&elf[..4], b"\x7fELF");
        assert_eq!(elf[4], 2, "ELFCLASS64");
        assert_eq!(elf[5], 1, "little-endian");
        assert_eq!(elf[6], 1, "EV_CURRENT");
        assert_eq!(u16_at(&elf, 16), 2, "ET_EXEC");
        assert_eq!(u16_at(&elf, 18), 0x3e, "EM_X86_64");
        assert_eq!(u32_at(&elf, 20), 1);
        let entry = u64_at(&elf, 24);
        let phoff = u64_at(&elf, 32) as usize;
        assert_eq!(phoff, 64);
        assert_eq!(u16_at(&elf, 52), 64, "e_ehsize");
        assert_eq!(u16_at(&elf, 54), 56, "e_phentsize");
        assert_eq!(u16_at(&elf, 56), 1, "e_phnum");
        // The one program header maps the whole file R+X at the base.
        assert_eq!(u32_at(&elf, phoff), 1, "PT_LOAD");
        assert_eq!(u32_at(&elf, phoff + 4), 5, "PF_R|PF_X");
        assert_eq!(u64_at(&elf, phoff + 8), 0, "p_offset");
        let vaddr = u64_at(&elf, phoff + 16);
        assert_eq!(vaddr, 0x40_0000);
        assert_eq!(u64_at(&elf, phoff + 32), elf.len() as u64, "p_filesz");
        assert_eq!(u64_at(&elf, phoff + 40), elf.len() as u64, "p_memsz");
        assert_eq!(vaddr % u64_at(&elf, phoff + 48), 0, "aligned");
        // The entry point is the code: pause in a loop.
        let code_at = (entry - vaddr) as usize;
        assert_eq!(code_at, 120);
        assert_eq!(&elf[code_at..], &PAUSE_CODE_X86_64);
        // The jump goes back to the start of the code: rel8 from the end of the jmp.
        let rel = elf[code_at + 8] as i8;
        assert_eq!(9 + i64::from(rel), 0);
    }

    #[test]
    fn tar_headers_are_valid_ustar() {
        let mut tar = TarBuilder::new();
        tar.file("pause", 0o755, b"hello")
            .and_then(|t| t.dir("tmp", 0o1777))
            .and_then(|t| t.symlink("bin/sh", "busybox"))
            .expect("short names");
        let bytes = tar.finish();
        // header + one data block + two headers + end marker
        assert_eq!(bytes.len(), 512 * 4 + 1024);
        let h = &bytes[..512];
        assert_eq!(&h[..6], b"pause\0");
        assert_eq!(&h[100..108], b"0000755\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..263], b"ustar\0");
        // The checksum field holds the sum of the header with the field as spaces.
        let mut copy = h.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|b| u64::from(*b)).sum();
        let field = std::str::from_utf8(&h[148..154]).expect("ascii");
        assert_eq!(u64::from_str_radix(field, 8).ok(), Some(sum));
        assert_eq!(&bytes[512..517], b"hello");
        let d = &bytes[1024..1536];
        assert_eq!(&d[..4], b"tmp/");
        assert_eq!(d[156], b'5');
        assert_eq!(&d[100..108], b"0001777\0");
        let l = &bytes[1536..2048];
        assert_eq!(l[156], b'2');
        assert_eq!(&l[157..164], b"busybox");
        assert!(bytes[2048..].iter().all(|b| *b == 0));
    }

    #[test]
    fn tar_rejects_long_names() {
        let mut tar = TarBuilder::new();
        let long = "a".repeat(101);
        assert!(matches!(
            tar.file(&long, 0o644, b""),
            Err(TarError::NameTooLong(_))
        ));
        assert!(matches!(
            tar.symlink("x", &long),
            Err(TarError::NameTooLong(_))
        ));
    }

    #[test]
    fn pause_rootfs_holds_pause() {
        let tar = pause_rootfs_x86_64().expect("short name");
        assert_eq!(&tar[..6], b"pause\0");
        assert_eq!(&tar[512..512 + 129], pause_elf_x86_64().as_slice());
    }
}
