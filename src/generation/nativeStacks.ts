import type { Analysis, Analyzer } from './analyzeRepository.js';
import { EXPIRE, type Fragment, type Job } from './composeDefaultPipeline.js';
import type { Language } from './slugs.js';
import { defaultVersion } from './versions.js';

/**
 * C and C++ built with CMake, Meson or plain Make (frameworks `cmake`, `meson`, `make`). CMake is
 * found through MANIFEST_LANGUAGE (CMakeLists.txt); Meson and Make here, because every directory
 * of a Meson project has its own meson.build and a Makefile alone says nothing about the language.
 */

const CXX_SOURCE = /\.(cc|cpp|cxx|c\+\+|hpp|hh|hxx)$/;
const C_SOURCE = /\.(c|h)$/;
const MAKEFILES = ['GNUmakefile', 'Makefile', 'makefile'];

/** A root meson.build, or a root Makefile next to C/C++ sources; null otherwise. */
export function detectNativeBuild(
  rootFiles: string[],
  files: string[],
): { language: Language; manifest: string } | null {
  if (rootFiles.includes('meson.build')) return { language: 'c', manifest: 'meson.build' };
  const makefile = MAKEFILES.find((m) => rootFiles.includes(m));
  if (makefile && files.some((f) => C_SOURCE.test(f) || CXX_SOURCE.test(f)))
    return { language: 'c', manifest: makefile };
  return null;
}

function say(a: Analysis, fact: string, file: string, detail: string): void {
  a.evidence.push({ fact, file, detail });
}

function setLanguage(a: Analysis, cxx: boolean, file: string, detail: string): void {
  const language = cxx ? 'cpp' : 'c';
  if (a.language === language) return;
  a.language = language;
  a.evidence = a.evidence.filter((e) => !e.fact.startsWith('language='));
  say(a, `language=${language}`, file, detail);
}

const analyzeCmake: Analyzer = async (a, b, files) => {
  a.buildTool = 'cmake';
  a.framework = 'cmake';
  const text = (await b.read('CMakeLists.txt')) ?? '';
  const langs = text.match(/project\s*\([^)]*LANGUAGES\s+([A-Za-z ]+)/i)?.[1];
  const cxx = langs ? /CXX/i.test(langs) : files.some((f) => CXX_SOURCE.test(f));
  setLanguage(a, cxx, 'CMakeLists.txt', langs ? `LANGUAGES ${langs.trim()}` : cxx ? 'C++ sources' : 'C sources only');
  say(a, 'framework=cmake', 'CMakeLists.txt', 'CMake project');
  const std = text.match(/CMAKE_CXX_STANDARD\s+(\d+)/)?.[1];
  if (std) {
    a.versions.cxx_standard = std;
    say(a, `c++${std}`, 'CMakeLists.txt', `CMAKE_CXX_STANDARD ${std}`);
  }
  const cmakeMin = text.match(/cmake_minimum_required\s*\(\s*VERSION\s+([\d.]+)/i)?.[1];
  if (cmakeMin) a.versions.cmake = cmakeMin;
  a.lockfile = b.has('vcpkg.json') ? 'vcpkg.json' : b.has('conanfile.txt') ? 'conanfile.txt' : null;
  a.buildCommand = 'cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --parallel';
  if (/enable_testing|add_test|include\s*\(\s*CTest\s*\)/i.test(text)) {
    a.testCommand = 'ctest --test-dir build --output-on-failure';
    say(a, 'test=ctest', 'CMakeLists.txt', 'enable_testing/add_test: CTest tests');
  }
};

const analyzeMeson: Analyzer = async (a, b, files) => {
  a.buildTool = 'meson';
  a.framework = 'meson';
  const text = (await b.read('meson.build')) ?? '';
  const project = text.match(/project\s*\(([^)]*)\)/)?.[1] ?? '';
  const cxx = /'cpp'/.test(project) || (!/'c'/.test(project) && files.some((f) => CXX_SOURCE.test(f)));
  setLanguage(a, cxx, 'meson.build', `project(${project.replace(/\s+/g, ' ').trim().slice(0, 80)})`);
  say(a, 'framework=meson', 'meson.build', 'Meson project');
  const std = project.match(/cpp_std\s*=\s*(?:c|gnu)\+\+(\d+)/)?.[1];
  if (std) a.versions.cxx_standard = std;
  const mesonMin = project.match(/meson_version\s*:\s*'[>=~ ]*([\d.]+)'/)?.[1];
  // a minimum, not a target: Debian's Meson in the GCC image satisfies the usual ones
  if (mesonMin) say(a, `meson>=${mesonMin}`, 'meson.build', 'meson_version');
  a.buildCommand = 'meson setup build && meson compile -C build';
  // tests live in the root file or in a sub-directory the root one enters
  const testDir = files.find((f) => /^(tests?|unittests?)\/meson\.build$/.test(f));
  if (/\btest\s*\(/.test(text) || testDir) {
    a.testCommand = 'meson test -C build --print-errorlogs';
    say(a, 'test=meson test', testDir ?? 'meson.build', 'test() targets');
  }
};

const analyzeMake: Analyzer = async (a, b, files, manifest) => {
  a.buildTool = 'make';
  a.framework = 'make';
  const mk = (await b.read(manifest)) ?? '';
  setLanguage(
    a,
    files.some((f) => CXX_SOURCE.test(f)),
    manifest,
    'C/C++ sources next to a Makefile',
  );
  say(a, 'framework=make', manifest, 'plain Makefile');
  a.buildCommand = 'make';
  // only a target that exists: `make test` without one fails with "No rule to make target"
  const target = mk.match(/^(check|test)\s*:(?!=)/m)?.[1];
  if (target) {
    a.testCommand = `make ${target}`;
    say(a, `test=make ${target}`, manifest, `target ${target}:`);
  }
};

/** Registered for `c` and `cpp`: the manifest the language came from picks the build system. */
export const analyzeNative: Analyzer = async (a, b, files, manifest) => {
  if (manifest === 'CMakeLists.txt') return analyzeCmake(a, b, files, manifest);
  if (manifest === 'meson.build') return analyzeMeson(a, b, files, manifest);
  return analyzeMake(a, b, files, manifest);
};

const APT = 'apt-get update -qq && apt-get install -y -qq --no-install-recommends';

/** Build and test jobs on the GCC image; CTest and Meson write JUnit reports GitLab shows. */
export function nativeFragment(a: Analysis): Fragment {
  const name = a.language === 'c' ? 'c' : 'cpp';
  const system = a.framework === 'meson' ? 'meson' : a.framework === 'make' ? 'make' : 'cmake';
  const base: Job = { image: `gcc:${a.versions.gcc ?? defaultVersion('gcc')}`, interruptible: true };
  if (system === 'cmake') base.before_script = [`${APT} cmake > /dev/null`];
  if (system === 'meson') base.before_script = [`${APT} meson ninja-build > /dev/null`];
  const build =
    a.buildCommand ??
    (system === 'meson'
      ? 'meson setup build && meson compile -C build'
      : system === 'make'
        ? 'make'
        : 'cmake -S . -B build && cmake --build build --parallel');
  const jobs: Record<string, Job> = { [`.${name}`]: base };
  if (a.testCommand) {
    const test: Job = { extends: `.${name}`, stage: 'test' };
    if (system === 'cmake') {
      // --output-junit is relative to the test directory (CMake 3.21+)
      test.script = [build, `${a.testCommand} --output-junit junit.xml`];
      test.artifacts = { when: 'always', expire_in: EXPIRE, reports: { junit: 'build/junit.xml' } };
    } else if (system === 'meson') {
      test.script = [build, a.testCommand];
      test.artifacts = {
        when: 'always',
        expire_in: EXPIRE,
        paths: ['build/meson-logs/'],
        reports: { junit: 'build/meson-logs/testlog.junit.xml' },
      };
    } else {
      test.script = [a.testCommand];
    }
    jobs[`${name}-test`] = test;
  }
  jobs[`${name}-build`] = {
    extends: `.${name}`,
    stage: 'build',
    script: [build],
    ...(system === 'make'
      ? {}
      : { artifacts: { expire_in: EXPIRE, paths: ['build/'], exclude: ['build/**/*.o', 'build/**/*.p/**'] } }),
  };
  const label = name === 'c' ? 'C' : 'C++';
  const what = a.testCommand ? 'build and test' : 'build (no tests found)';
  return { name: system, description: `${label} (${system}): ${what}`, jobs };
}
