// OpenBLAS sgemm against oneDNN inner product (plain and packed weights) at the CLIP text encoder's
// shapes (154 rows) and two UNet shapes: the measurement behind OneDNNLinear (BENCHMARKS.md, session 5).
//   gcc -O2 tools/bench_dnnl_linear.c -o /tmp/bench_dnnl_linear -I/usr/include/x86_64-linux-gnu -ldnnl -lopenblas
//   OMP_NUM_THREADS=2 /tmp/bench_dnnl_linear
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
extern void openblas_set_num_threads(int);
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define CHK(x) do{ if((x)!=dnnl_success){printf("fail %s line %d\n",#x,__LINE__);exit(1);} }while(0)
int main(){
  dnnl_engine_t eng; dnnl_stream_t st; CHK(dnnl_engine_create(&eng,dnnl_cpu,0)); CHK(dnnl_stream_create(&st,eng,dnnl_stream_default_flags));
  int shapes[][3]={{154,768,768},{154,768,3072},{154,3072,768},{4096,320,320},{8192,640,640},{154,1024,1024}};
  openblas_set_num_threads(2);
  for(int si=0;si<6;si++){
    int M=shapes[si][0],K=shapes[si][1],N=shapes[si][2];
    float *x=malloc(4L*M*K),*w=malloc(4L*N*K),*b=malloc(4L*N),*y=malloc(4L*M*N);
    for(long i=0;i<(long)M*K;i++)x[i]=(rand()%100)/100.f; for(long i=0;i<(long)N*K;i++)w[i]=(rand()%100)/100.f; for(int i=0;i<N;i++)b[i]=0;
    int reps=20; double t0,best=1e9;
    for(int r=0;r<reps;r++){t0=now(); cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,M,N,K,1,x,K,w,K,0,y,N); double t=now()-t0; if(t<best)best=t;}
    double gf=2.0*M*N*K/1e9;
    printf("M%d K%d N%d  openblas %.3f ms %.0f GF/s", M,K,N,best*1e3,gf/best);
    for(int packed=0;packed<2;packed++){
      dnnl_dims_t sd={M,K}, wd={N,K}, bd={N}, dd={M,N};
      dnnl_memory_desc_t smd,wmd,wany,bmd,dmd;
      CHK(dnnl_memory_desc_init_by_tag(&smd,2,sd,dnnl_f32,dnnl_ab));
      CHK(dnnl_memory_desc_init_by_tag(&wmd,2,wd,dnnl_f32,dnnl_ab));
      CHK(dnnl_memory_desc_init_by_tag(&wany,2,wd,dnnl_f32,dnnl_format_tag_any));
      CHK(dnnl_memory_desc_init_by_tag(&bmd,1,bd,dnnl_f32,dnnl_a));
      CHK(dnnl_memory_desc_init_by_tag(&dmd,2,dd,dnnl_f32,dnnl_ab));
      dnnl_inner_product_desc_t ipd; CHK(dnnl_inner_product_forward_desc_init(&ipd,dnnl_forward_inference,&smd,packed?&wany:&wmd,&bmd,&dmd));
      dnnl_primitive_desc_t pd; CHK(dnnl_primitive_desc_create(&pd,&ipd,NULL,eng,NULL));
      const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
      const dnnl_memory_desc_t *wint=dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0);
      dnnl_primitive_t p; CHK(dnnl_primitive_create(&p,pd));
      dnnl_memory_t ms,mw,mb,md,mwu; CHK(dnnl_memory_create(&ms,&smd,eng,x)); CHK(dnnl_memory_create(&mb,&bmd,eng,b)); CHK(dnnl_memory_create(&md,&dmd,eng,y));
      CHK(dnnl_memory_create(&mwu,&wmd,eng,w));
      if(packed){ CHK(dnnl_memory_create(&mw,wint,eng,DNNL_MEMORY_ALLOCATE)); dnnl_primitive_desc_t rpd; CHK(dnnl_reorder_primitive_desc_create(&rpd,&wmd,eng,wint,eng,NULL)); dnnl_primitive_t rp; CHK(dnnl_primitive_create(&rp,rpd)); dnnl_exec_arg_t ra[2]={{DNNL_ARG_FROM,mwu},{DNNL_ARG_TO,mw}}; CHK(dnnl_primitive_execute(rp,st,2,ra)); dnnl_stream_wait(st);} else mw=mwu;
      dnnl_exec_arg_t a[4]={{DNNL_ARG_SRC,ms},{DNNL_ARG_WEIGHTS,mw},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,md}};
      best=1e9; for(int r=0;r<reps;r++){t0=now(); CHK(dnnl_primitive_execute(p,st,4,a)); dnnl_stream_wait(st); double t=now()-t0; if(t<best)best=t;}
      printf(" | %s %s %.3f ms %.0f GF/s", packed?"packed":"plain", impl, best*1e3, gf/best);
    }
    printf("\n");
  }
}
