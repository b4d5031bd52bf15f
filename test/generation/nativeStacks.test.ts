import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { memoryGitLab } from './support.js';

async function propose(files: Record<string, string>) {
  const a = await analyzeRepository(new GitLabRepoReader(memoryGitLab(files).gitlab, 1, 'main'));
  return { a, jobs: parse(composeDefaultPipeline(a).config) as Record<string, Record<string, unknown>> };
}

describe('C and C++ with CMake, Meson and Make', () => {
  it('Meson: C++ from project(), tests entered through subdir(), JUnit from the testlog', async () => {
    const { a, jobs } = await propose({
      'meson.build': "project('calc', 'cpp', default_options : ['cpp_std=c++17'])\nsubdir('src')\nsubdir('tests')\n",
      'src/meson.build': "executable('calc', 'main.cc')\n",
      'src/main.cc': 'int main() {}\n',
      'tests/meson.build': "test('t', executable('t', 't.cc'))\n",
    });
    expect([a.language, a.framework, a.buildTool]).toEqual(['cpp', 'meson', 'meson']);
    expect(a.versions.cxx_standard).toBe('17');
    expect(a.subprojects).toEqual([]);
    expect(jobs['.cpp'].before_script).toEqual([expect.stringContaining('meson ninja-build')]);
    expect(jobs['cpp-test'].script).toEqual([
      'meson setup build && meson compile -C build',
      'meson test -C build --print-errorlogs',
    ]);
    expect(jobs['cpp-test'].artifacts).toMatchObject({
      when: 'always',
      reports: { junit: 'build/meson-logs/testlog.junit.xml' },
    });
  });

  it('Meson without test(): a build job and no test job', async () => {
    const { a, jobs } = await propose({ 'meson.build': "project('x', 'c')\nexecutable('x', 'x.c')\n", 'x.c': '' });
    expect([a.language, a.framework, a.testCommand]).toEqual(['c', 'meson', null]);
    expect(jobs['c-test']).toBeUndefined();
    expect(jobs['c-build'].script).toEqual(['meson setup build && meson compile -C build']);
  });

  it('Make: the check or test target only when the Makefile has it', async () => {
    const withTest = await propose({ Makefile: 'CC := gcc\nall:\n\t$(CC) a.cpp\ntest: all\n\t./a\n', 'a.cpp': '' });
    expect([withTest.a.language, withTest.a.framework]).toEqual(['cpp', 'make']);
    expect(withTest.jobs['cpp-test'].script).toEqual(['make test']);
    expect(withTest.jobs['cpp-build'].script).toEqual(['make']);
    // `test := …` is a variable, not a target
    const none = await propose({ Makefile: 'test := 1\nall:\n\tcc a.c\n', 'a.c': '' });
    expect([none.a.framework, none.a.testCommand]).toEqual(['make', null]);
    expect(none.jobs['c-test']).toBeUndefined();
  });

  it('a Makefile without C or C++ sources is no C project', async () => {
    const { a } = await propose({ Makefile: 'test:\n\t./run.sh\n', 'run.sh': '' });
    expect(a.language).toBe('unknown');
  });

  it('CMake: framework cmake, CTest writes JUnit into the build directory', async () => {
    const { a, jobs } = await propose({
      'CMakeLists.txt': 'project(x LANGUAGES C)\ninclude(CTest)\nadd_executable(x x.c)\n',
      'x.c': '',
    });
    expect([a.language, a.framework]).toEqual(['c', 'cmake']);
    expect(jobs['c-test'].script).toEqual([
      'cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --parallel',
      'ctest --test-dir build --output-on-failure --output-junit junit.xml',
    ]);
    expect(jobs['c-test'].artifacts).toMatchObject({ reports: { junit: 'build/junit.xml' } });
  });
});
