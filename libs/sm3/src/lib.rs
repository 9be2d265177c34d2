//! SM3 (GB/T 32905-2016) whose running state can be saved and resumed, by another process if
//! need be: an upload's requests may reach different ingest replicas, and OpenSSL (which has
//! SM3) offers no way to export a digest's state. The compression function follows the
//! standard; the tests compare every result with OpenSSL's SM3.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

const IV: [u32; 8] = [
    0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];
/// The saved state: V (8 words), the byte count, the bytes of the unfinished block and their
/// number, all big-endian.
const STATE_SIZE: usize = 32 + 8 + 64 + 1;

fn p0(x: u32) -> u32 {
    x ^ x.rotate_left(9) ^ x.rotate_left(17)
}

fn p1(x: u32) -> u32 {
    x ^ x.rotate_left(15) ^ x.rotate_left(23)
}

fn compress(v: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 68];
    for (j, word) in block.chunks_exact(4).enumerate() {
        w[j] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for j in 16..68 {
        w[j] = p1(w[j - 16] ^ w[j - 9] ^ w[j - 3].rotate_left(15))
            ^ w[j - 13].rotate_left(7)
            ^ w[j - 6];
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *v;
    for j in 0..64 {
        let t: u32 = if j < 16 { 0x79cc4519 } else { 0x7a879d8a };
        let ss1 = a
            .rotate_left(12)
            .wrapping_add(e)
            .wrapping_add(t.rotate_left((j % 32) as u32))
            .rotate_left(7);
        let ss2 = ss1 ^ a.rotate_left(12);
        let (ff, gg) = if j < 16 {
            (a ^ b ^ c, e ^ f ^ g)
        } else {
            ((a & b) | (a & c) | (b & c), (e & f) | (!e & g))
        };
        let tt1 = ff.wrapping_add(d).wrapping_add(ss2).wrapping_add(w[j] ^ w[j + 4]);
        let tt2 = gg.wrapping_add(h).wrapping_add(ss1).wrapping_add(w[j]);
        d = c;
        c = b.rotate_left(9);
        b = a;
        a = tt1;
        h = g;
        g = f.rotate_left(19);
        f = e;
        e = p0(tt2);
    }
    for (word, new) in v.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word ^= new;
    }
}

#[derive(Clone)]
struct Core {
    v: [u32; 8],
    total: u64,
    block: [u8; 64],
    filled: usize,
}

impl Core {
    fn new() -> Self {
        Core { v: IV, total: 0, block: [0; 64], filled: 0 }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let take = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < 64 {
                return;
            }
            let block = self.block;
            compress(&mut self.v, &block);
            self.filled = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut self.v, block);
        }
        let rest = blocks.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    fn digest(&self) -> [u8; 32] {
        let mut last = self.clone();
        let bits = self.total.wrapping_mul(8);
        let mut padding = vec![0x80u8];
        padding.resize(if self.filled < 56 { 56 - self.filled } else { 120 - self.filled }, 0);
        padding.extend_from_slice(&bits.to_be_bytes());
        last.update(&padding);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(last.v) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn state(&self) -> [u8; STATE_SIZE] {
        let mut out = [0u8; STATE_SIZE];
        for (chunk, word) in out[..32].chunks_exact_mut(4).zip(self.v) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out[32..40].copy_from_slice(&self.total.to_be_bytes());
        out[40..104].copy_from_slice(&self.block);
        out[104] = self.filled as u8;
        out
    }

    fn from_state(state: &[u8]) -> Option<Self> {
        if state.len() != STATE_SIZE || state[104] >= 64 {
            return None;
        }
        let mut v = [0u32; 8];
        for (word, chunk) in v.iter_mut().zip(state[..32].chunks_exact(4)) {
            *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let total = u64::from_be_bytes(state[32..40].try_into().ok()?);
        let filled = state[104] as usize;
        if total % 64 != filled as u64 % 64 {
            return None;
        }
        let mut block = [0u8; 64];
        block.copy_from_slice(&state[40..104]);
        Some(Core { v, total, block, filled })
    }
}

/// SM3 whose state can be saved (``state()``) and resumed (``Sm3(state)``).
#[pyclass(module = "quancheng_sm3")]
struct Sm3 {
    core: Core,
}

#[pymethods]
impl Sm3 {
    #[new]
    #[pyo3(signature = (state=None))]
    fn new(state: Option<&[u8]>) -> PyResult<Self> {
        match state {
            None => Ok(Sm3 { core: Core::new() }),
            Some(saved) => Core::from_state(saved)
                .map(|core| Sm3 { core })
                .ok_or_else(|| PyValueError::new_err("not a saved SM3 state")),
        }
    }

    /// Hash ``data`` (the GIL is released meanwhile).
    fn update(&mut self, py: Python<'_>, data: &[u8]) {
        let core = &mut self.core;
        py.detach(|| core.update(data));
    }

    fn state<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.core.state())
    }

    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.core.digest())
    }

    fn hexdigest(&self) -> String {
        self.core.digest().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

#[pymodule]
fn quancheng_sm3(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Sm3>()?;
    module.add("STATE_SIZE", STATE_SIZE)?;
    Ok(())
}
